"""fakeredis behind a TCP socket, for bench/run: python bench/fakeredis_server.py PORT"""

import sys

from fakeredis import TcpFakeServer

port = int(sys.argv[1])
# Loopback only; Redis 7.0 semantics, the version cachelab follows.
server = TcpFakeServer(("127.0.0.1", port), server_type="redis", server_version=(7, 0))
try:
    server.serve_forever()
finally:
    server.server_close()
