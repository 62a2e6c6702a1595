"""A decoding origin for the gateway's attack suite, written as applications are.

Flask routes the integration platform's API; the server decodes the path before Flask routes it
(Python's wsgiref, or Werkzeug's own server behind nginx). A WSGI layer does what many
frameworks do on request: it takes the method from override headers and the `_method` query
parameter (Rack, Laravel, Symfony, Express `method-override`, Yii), and the path from
`X-Original-URL` / `X-Rewrite-URL` (Symfony's IIS support). As the gateway's documentation asks
of origins, it does not take a method from the body.

Every request that arrives is recorded, with what it ran (route, environment, id, method) and
the identity and routing headers the application read; `GET /__seen` answers the records and
clears them. Usage: `python3 app.py wsgiref|werkzeug` prints `PORT <n>` once it listens on
127.0.0.1.
"""

import sys
import threading
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs, unquote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from flask import Flask, jsonify, request

# The routes of examples/integration-platform.json: method, rule, permission, resource type.
ROUTES = [
    ("GET", "/v1/envs/<env>/workflows/<rid>", "workflow:read", "workflow"),
    ("PUT", "/v1/envs/<env>/workflows/<rid>", "workflow:edit", "workflow"),
    ("POST", "/v1/envs/<env>/workflows/<rid>/test", "workflow:test", "workflow"),
    ("PUT", "/v1/envs/<env>/config", "config:update", "config"),
    ("POST", "/v1/envs/<env>/credentials", "credential:write", "credential"),
    ("POST", "/v1/envs/<env>/bundles/<rid>/deploy", "bundle:deploy", "bundle"),
    ("GET", "/v1/envs/<env>/logs", "logs:read", "logs"),
    ("GET", "/v1/dashboard", "dashboard:read", "dashboard"),
    ("POST", "/v1/users", "users:manage", "users"),
]

# Headers an application may trust for identity or routing: reported as the application reads
# them (Werkzeug folds `_` into `-` as WSGI servers do).
READ_HEADERS = [
    "X-Portcullis-Principal",
    "X-Portcullis-Org",
    "X-Portcullis-Env",
    "X-Portcullis-Decision",
    "X-Portcullis-Resource",
    "X-Portcullis-Bundle-Version",
    "Authorization",
    "Forwarded",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Forwarded-For",
    "X-Forwarded-User",
    "X-User",
    "X-Remote-User",
    "Remote-User",
    "X-Auth-Request-User",
    "X-Original-URL",
    "X-Rewrite-URL",
    "X-HTTP-Method-Override",
    "X-Method-Override",
    "X-HTTP-Method",
]

app = Flask(__name__)
records = []
lock = threading.Lock()


def record(**fields):
    with lock:
        records.append(fields)


def view(permission, resource_type):
    def run(env=None, rid=None):
        ran = {
            "permission": permission,
            "type": resource_type,
            "env": env,
            "id": rid,
            "method": request.method,
            "path": request.path,
            "headers": {h: request.headers.get(h) for h in READ_HEADERS},
            "remote_user": request.environ.get("REMOTE_USER"),
        }
        record(kind="ran", **ran)
        return jsonify(ran)

    return run


for method, rule, permission, resource_type in ROUTES:
    app.add_url_rule(
        rule,
        endpoint=f"{method} {rule}",
        view_func=view(permission, resource_type),
        methods=[method],
    )


@app.get("/__seen")
def seen():
    with lock:
        out = list(records)
        records.clear()
    return jsonify(out)


class Overrides:
    """The request rewriting many frameworks do before routing."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != "/__seen":
            record(
                kind="arrived",
                method=environ.get("REQUEST_METHOD"),
                raw=environ.get("RAW_URI") or environ.get("REQUEST_URI"),
                path=environ.get("PATH_INFO"),
                query=environ.get("QUERY_STRING"),
            )
            for key in ("HTTP_X_ORIGINAL_URL", "HTTP_X_REWRITE_URL"):
                if environ.get(key):
                    environ["PATH_INFO"] = unquote(environ[key].split("?")[0], "latin-1")
            query = parse_qs(environ.get("QUERY_STRING", ""))
            override = (
                environ.get("HTTP_X_HTTP_METHOD_OVERRIDE")
                or environ.get("HTTP_X_METHOD_OVERRIDE")
                or environ.get("HTTP_X_HTTP_METHOD")
                or (query.get("_method") or [None])[0]
            )
            if override:
                environ["REQUEST_METHOD"] = override.upper()
        return self.inner(environ, start_response)


application = Overrides(app.wsgi_app)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main():
    kind = sys.argv[1] if len(sys.argv) > 1 else "wsgiref"
    if kind == "wsgiref":
        server = make_server(
            "127.0.0.1", 0, application, server_class=ThreadingWSGIServer, handler_class=QuietHandler
        )
    else:
        import logging

        from werkzeug.serving import make_server as werkzeug_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = werkzeug_server("127.0.0.1", 0, application, threaded=True)
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
