"""A small HTTP server on 127.0.0.1 that plays the relying party's side of back-channel
calls: it serves request objects for request_uri and receives back-channel logout tokens."""

import http.server
import threading
import time
import urllib.parse

REQUEST_OBJECT_TYPE = "application/oauth-authz-req+jwt"


class Receiver:
    def __init__(self):
        self.documents = {}
        self.logout_requests = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                document = receiver.documents.get(self.path)
                if document is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = document.encode()
                self.send_response(200)
                self.send_header("Content-Type", REQUEST_OBJECT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                with receiver._arrived:
                    receiver.logout_requests.append(
                        {
                            "path": self.path,
                            "content_type": self.headers.get("Content-Type", ""),
                            "form": urllib.parse.parse_qs(body),
                        }
                    )
                    receiver._arrived.notify_all()
                # Back-Channel Logout 1.0 expects 200 on success, and the suite also sends no-store.
                self.send_response(200)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, path, document):
        """Serve `document` at `path` and return its URL."""
        self.documents[path] = document
        return self.base_url + path

    def wait_for_logout(self, path, timeout):
        """Return the first request POSTed to `path`, or None after `timeout` seconds."""
        deadline = time.time() + timeout
        with self._arrived:
            while True:
                for request in self.logout_requests:
                    if request["path"] == path:
                        return request
                remaining = deadline - time.time()
                if remaining <= 0:
                    return None
                self._arrived.wait(remaining)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
