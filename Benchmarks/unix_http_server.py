#!/usr/bin/env python3
"""Tiny HTTP/1.1 keep-alive server on a Unix socket, used to sanity-check loadgen.

usage: unix_http_server.py SOCKET
  GET /healthz        -> 200, small JSON, Content-Length
  GET /chunked        -> 200, chunked body (3 chunks)
  GET /big            -> 200, 64 KiB body, Content-Length
  anything else       -> 404
Threaded (one thread per connection). Exits on SIGTERM, removing SOCKET.
"""
import http.server
import os
import signal
import socketserver
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/healthz":
            body = b'{"status":"ok","ticks":1}\n'
        elif self.path == "/big":
            body = b"x" * 65536
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    srv = Server(path, Handler)
    signal.signal(signal.SIGTERM, lambda *a: (os.unlink(path), os._exit(0)))
    srv.serve_forever()


if __name__ == "__main__":
    main()
