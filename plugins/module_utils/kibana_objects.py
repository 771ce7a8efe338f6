# -*- coding: utf-8 -*-
# Copyright: seclog.falco_efk contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading Kibana's saved objects, for the modules that read or write them: paths per space, Kibana's version, a space's
existence, one object, and what to tell the user when Kibana refuses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.seclog.falco_efk.plugins.module_utils.http_client import HttpError
from ansible_collections.seclog.falco_efk.plugins.module_utils.inputs import refused_credentials
from ansible_collections.seclog.falco_efk.plugins.module_utils.kibana import describe_status, redacted, version as status_version

STATUS_PATH = "api/status"
XSRF = {"kbn-xsrf": "true"}
SPACE_ID_RE = re.compile(r"^[a-z0-9_\-]+$")

NOT_READY = "Kibana is not ready or not reachable: wait for it with seclog.falco_efk.kibana_status first."


class Failure(Exception):
    """A failure to report, with the message to show."""


# ---------------------------------------------------------------------------------------------- pure helpers
def label(type_, object_id, space):
    """``dashboard/seclog-falco-dashboard``, with `` in space <space>`` outside the default space."""
    return "%s/%s%s" % (type_, object_id, "" if space == "default" else " in space %s" % space)


def space_prefix(space):
    """The path prefix of a space's APIs: none for the default space, ``s/<space>/`` for others."""
    return "" if space == "default" else "s/%s/" % space


def object_path(space, type_, object_id):
    """``[s/<space>/]api/saved_objects/<type>/<id>``, type and id quoted."""
    return "%sapi/saved_objects/%s/%s" % (space_prefix(space), quote(type_, safe=""), quote(object_id, safe=""))


def remedy(status, type_, space, body=None):
    """What to do about an HTTP failure while reading or writing a saved object."""
    said = json.dumps(body) if body is not None else ""
    if status == 403:
        return ("The Kibana user lacks privileges for %s objects in space %s: give it a role with the 'all' privilege on "
                "the Saved Objects Management feature (or the type's application) in that space, such as kibana_admin or "
                "editor." % (type_, space))
    if status == 409:
        return ("The id is taken: on Kibana 8 ids of index-pattern, search, visualization and dashboard objects are unique "
                "across spaces, so it may exist in another space; delete it there or use another id.")
    if status == 400 and "nsupported saved object type" in said:
        return "This Kibana serves no saved object type %s: check type." % type_
    if status == 400:
        return "Kibana refused the object: check attributes and references against what Kibana stores for a %s." % type_
    if status == 404:
        return "Kibana has no such route here: check kibana_url (its base path) and space."
    if status in (None, 502, 503, 504):
        return NOT_READY
    return ""


def with_remedy(message, extra):
    """The message and, when there is one, what to do about it."""
    return "%s %s" % (message.rstrip(), extra) if extra else message


# ---------------------------------------------------------------------------------------------- Kibana
def read_version(client):
    """Kibana's version from its status; logs in first when Kibana answers anonymously and credentials can."""
    try:
        body = client.get(STATUS_PATH).body
    except HttpError as exc:
        if status_version(exc.body) is not None:
            raise Failure("Kibana is not available (%s): %s" % (describe_status(exc.body), NOT_READY))
        hint = "Is that Kibana, at its base path?" if exc.status == 404 else "" if exc.status in (401, 403) else NOT_READY
        if exc.status == 401 and client.route == "url" and getattr(client.transport, "password", None):
            hint = refused_credentials("kibana_")
        raise Failure(with_remedy("Could not read Kibana's version: %s" % exc, hint))
    if redacted(body) and client.session is not None:
        try:
            client.log_in()
            body = client.get(STATUS_PATH).body
        except HttpError as exc:
            raise Failure("Could not read Kibana's version: %s" % exc)
    found = status_version(body)
    if found is None and redacted(body) and client.session is not None:
        raise Failure("Kibana (%s) told no version even after the login of kibana_username." % client.where)
    if found is None and redacted(body):
        raise Failure("Kibana (%s) tells anonymous callers no version and keeps its saved objects from them: give "
                      "kibana_username and kibana_password (through the API server proxy they log in to Kibana for a session "
                      "cookie), or kibana_url with kibana_api_key." % client.where)
    if found is None:
        raise Failure("GET /%s on %s answered without a Kibana version (is that Kibana, at its base path?)" % (STATUS_PATH, client.where))
    return found


def check_space(client, space):
    """Fail unless ``space`` exists (the saved objects routes of a missing space answer as if it were empty)."""
    if space == "default":
        return
    try:
        client.get("api/spaces/space/%s" % quote(space, safe=""))
    except HttpError as exc:
        if exc.status == 404:
            raise Failure("Kibana space %s does not exist (%s): create it first (Stack Management > Spaces, or POST "
                          "/api/spaces/space), or fix space." % (space, exc))
        raise Failure(with_remedy("Could not check that Kibana space %s exists: %s" % (space, exc),
                                  NOT_READY if exc.status in (None, 502, 503, 504) else ""))


def read_object(client, type_, object_id, space):
    """The object as ``GET /api/saved_objects/<type>/<id>`` answers it, or None when Kibana has none."""
    try:
        return client.get(object_path(space, type_, object_id)).body
    except HttpError as exc:
        if exc.status == 404:
            return None
        raise Failure(with_remedy("Could not read %s: %s" % (label(type_, object_id, space), exc), remedy(exc.status, type_, space)))
