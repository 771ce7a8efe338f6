# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    """How modules of this collection reach Kibana (the kibana_* options)."""

    DOCUMENTATION = r"""
options:
  kibana_url:
    description:
      - Address of Kibana to send requests to directly, for example an ingress, a load balancer or a
        C(kubectl port-forward) (C(https://kibana.example.com), C(http://127.0.0.1:5601)). When Kibana runs with
        C(server.rewriteBasePath=true), include its base path.
      - When not given, requests go through the Kubernetes API server's service proxy to I(kibana_service) in
        I(kibana_namespace), authenticated with the Kubernetes connection options. The proxy strips its own path
        prefix, so Kibana must serve its APIs at C(/) (C(server.rewriteBasePath=false), as the efk role deploys it).
        kube-apiserver removes the Authorization header before the proxy forwards a request, so there
        I(kibana_username) and I(kibana_password) are not sent as basic authentication; the module logs in to
        Kibana's basic provider (C(POST /internal/security/login), as Kibana's login form does; Kibana 7.10 or later
        with security on) when Kibana first asks for credentials, sends the C(sid) session cookie it gets on every
        later request, logs in again once if the session ends mid-run, and logs out when done.
        I(kibana_api_key) cannot go through the proxy (Kibana reads API keys only from the Authorization header);
        it needs I(kibana_url).
    type: str
  kibana_service:
    description: Name of the Kibana Service, for the service proxy and for diagnostics.
    type: str
    default: kibana-logging
  kibana_namespace:
    description: Namespace of I(kibana_service).
    type: str
    default: logging
  kibana_port:
    description: Port of I(kibana_service) that serves Kibana.
    type: int
    default: 5601
  kibana_scheme:
    description: Whether I(kibana_service) speaks C(http) or C(https) on I(kibana_port) (service proxy route).
    type: str
    choices: [http, https]
    default: http
  kibana_username:
    description:
      - Kibana (Elasticsearch) user, with I(kibana_password). Sent as basic authentication to I(kibana_url); through
        the service proxy, used to log in to Kibana's basic provider for a session cookie.
    type: str
  kibana_password:
    description:
      - Password of I(kibana_username). Never shown in messages or results, nor is the session cookie it gets.
    type: str
  kibana_api_key:
    description:
      - Elasticsearch API key (the base64 C(encoded) value), sent in the C(Authorization) header as
        C(ApiKey <key>). Only sent with I(kibana_url). Mutually exclusive with I(kibana_password).
    type: str
  kibana_ca_path:
    description: CA certificate bundle (PEM) to verify an C(https) I(kibana_url) with.
    type: path
  kibana_validate_certs:
    description: Whether to verify the TLS certificate of an C(https) I(kibana_url).
    type: bool
    default: true
notes:
  - The C(kibana_*) options are named apart from kubernetes.core's I(username), I(password), I(api_key) and
    I(validate_certs), which are credentials of the Kubernetes API.
"""
