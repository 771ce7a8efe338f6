# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    """How modules of this collection reach Elasticsearch (the es_* options)."""

    DOCUMENTATION = r"""
options:
  es_url:
    description:
      - Address of Elasticsearch to send requests to directly, for example an ingress, a load balancer or a
        C(kubectl port-forward) (C(https://es.example.com:9200), C(http://127.0.0.1:9200)).
      - When not given, requests go through the Kubernetes API server's service proxy to I(es_service) in
        I(es_namespace), authenticated with the Kubernetes connection options. kube-apiserver removes the
        Authorization header before the proxy forwards a request, so only anonymous requests reach
        Elasticsearch that way; I(es_username), I(es_password) and I(es_api_key) need I(es_url).
    type: str
  es_service:
    description: Name of the Elasticsearch Service, for the service proxy and for diagnostics.
    type: str
    default: elasticsearch-logging
  es_namespace:
    description: Namespace of I(es_service).
    type: str
    default: logging
  es_port:
    description: Port of I(es_service) that serves Elasticsearch's HTTP API.
    type: int
    default: 9200
  es_scheme:
    description: Whether I(es_service) speaks C(http) or C(https) on I(es_port) (service proxy route).
    type: str
    choices: [http, https]
    default: http
  es_username:
    description: Elasticsearch user for basic authentication, with I(es_password). Only sent with I(es_url).
    type: str
  es_password:
    description: Password of I(es_username). Only sent with I(es_url).
    type: str
  es_api_key:
    description:
      - Elasticsearch API key (the base64 C(encoded) value), sent in the C(Authorization) header as
        C(ApiKey <key>). Only sent with I(es_url). Mutually exclusive with I(es_password).
    type: str
  es_ca_path:
    description: CA certificate bundle (PEM) to verify an C(https) I(es_url) with.
    type: path
  es_validate_certs:
    description: Whether to verify the TLS certificate of an C(https) I(es_url).
    type: bool
    default: true
notes:
  - The C(es_*) options are named apart from kubernetes.core's I(username), I(password), I(api_key) and
    I(validate_certs), which are credentials of the Kubernetes API.
"""
