#!/usr/bin/python3
"""A fault-injecting HTTP/1.1 proxy in front of radosgw for the tests.

fault_proxy.py UPSTREAM_PORT MODE COUNT
Listens on 127.0.0.1, port 0; prints "PORT <n>" once listening. Requests from
the client are parsed (head + Content-Length body; the S3 client never sends
chunked bodies); replies are piped back unchanged. The first COUNT requests
that upload a part (PUT with partNumber=) meet the fault of MODE:
  slowdown  the body is read and answered 503 SlowDown (the XML S3 sends)
  reset     half of the body is read, then the connection is reset (RST)
  none      no fault
Every fault prints one line "FAULT <mode> <request line>". Exits when its
parent (the test process) is gone.
"""
import os, socket, struct, sys, threading, time

UP, MODE, COUNT = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
lock = threading.Lock()
budget = [COUNT]
parent = os.getppid()


def take_fault(request_line):
    method, target = request_line.split(" ")[:2]
    if method != "PUT" or "partNumber=" not in target:
        return False
    with lock:
        if budget[0] <= 0:
            return False
        budget[0] -= 1
    print("FAULT", MODE, request_line, flush=True)
    return True


def read_head(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    i = buf.index(b"\r\n\r\n") + 4
    return buf[:i], buf[i:]


def read_exactly(sock, buf, n):
    while len(buf) < n:
        chunk = sock.recv(min(65536, n - len(buf)))
        if not chunk:
            raise ConnectionError("client closed mid-body")
        buf += chunk
    return buf[:n], buf[n:]


def pipe(src, dst):
    try:
        while True:
            chunk = src.recv(65536)
            if not chunk:
                break
            dst.sendall(chunk)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client):
    upstream = socket.create_connection(("127.0.0.1", UP))
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
    buf = b""
    try:
        while True:
            head, buf = read_head(client, buf)
            if head is None:
                break
            lines = head.decode("latin-1").split("\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if take_fault(lines[0]):
                if MODE == "reset":
                    _, buf = read_exactly(client, buf, length // 2)
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    client.close()
                    upstream.close()
                    return
                if MODE == "slowdown":
                    _, buf = read_exactly(client, buf, length)
                    body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                            b"<Message>Please reduce your request rate.</Message></Error>")
                    client.sendall(b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
                                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                    continue
            # The head goes first: a client waiting for "100 Continue" gets it.
            upstream.sendall(head)
            while length > 0:
                if not buf:
                    buf = client.recv(65536)
                    if not buf:
                        raise ConnectionError("client closed mid-body")
                chunk, buf = buf[:length], buf[length:]
                upstream.sendall(chunk)
                length -= len(chunk)
    except OSError:
        pass
    for s in (client, upstream):
        try:
            s.close()
        except OSError:
            pass


def watch_parent():
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print("PORT", listener.getsockname()[1], flush=True)
threading.Thread(target=watch_parent, daemon=True).start()
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
