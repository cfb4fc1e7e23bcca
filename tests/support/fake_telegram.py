#!/usr/bin/python3
# A fake Telegram Bot API server for tests: it behaves as the Bot
# API documentation says for the calls Tenant Backup makes.
#
#   POST /bot<token>/sendDocument   multipart/form-data: chat_id, caption, document
#                                   -> {"ok":true,"result":Message{document{file_id,
#                                      file_unique_id,file_size,file_name,mime_type}}}
#                                   uploads over 50 MB -> 413 with an HTML body (as
#                                   Telegram's front end does)
#   POST /bot<token>/getFile        file_id -> {"ok":true,"result":File{file_path,...}};
#                                   files over 20 MB -> 400 "Bad Request: file is too big"
#   GET  /file/bot<token>/<path>    the file's bytes
#   POST /bot<token>/deleteMessage  chat_id, message_id -> {"ok":true,"result":true}
#   a wrong token -> 401 {"ok":false,"error_code":401,"description":"Unauthorized"}
#
# Chunked uploads are refused (411): the service must give every part its size.
#
# Test control (no token):
#   POST /_control/fault  {"method": "sendDocument"|"getFile"|"deleteMessage"|"file"|"*",
#                          "kind": "429"|"500"|"400"|"reset"|"truncate"|"hang"|"refuse_delete"
#                                  |"corrupt"|"delay"|"oversize",
#                          "count": n, "retry_after": s, "seconds": s, "description": "...",
#                          "skip": n}
#       the next `count` calls of `method` get that fault ("corrupt": the next
#       downloads get one flipped byte), after the first `skip` calls that
#       reach this fault went through untouched.
#       "delay" (sendDocument): the document is stored (it is in the chat and in
#       /_control/state) but the reply comes `seconds` later: a message whose
#       sender has not heard back yet.
#       "oversize": a 200 whose body never ends in time: `bytes` (default 64 MiB)
#       without a Content-Length (the body ends when the connection closes);
#       for "file" the real bytes come first, then padding. The call is
#       recorded once the client hung up, with "sent": the bytes it took.
#   GET  /_control/state  {"messages": [...], "calls": [{"method","status","at","chunked"}],
#                          "deleted": [message_id...]}
#   POST /_control/reset  forget faults, messages and calls.
#
# Usage: fake_telegram.py <token> <data dir>; prints "PORT <n>" once listening
# and exits when its parent does.
import json, os, random, socket, string, struct, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = sys.argv[1]
DATA = sys.argv[2]
os.makedirs(os.path.join(DATA, 'documents'), exist_ok=True)
UPLOAD_LIMIT = 50 * 1000 * 1000
GETFILE_LIMIT = 20 * 1000 * 1000

lock = threading.Lock()
state = {'messages': [], 'calls': [], 'deleted': []}
faults = []  # [{"method", "kind", "count", ...}]
files = {}   # file_id -> {"path", "size", "unique"}
next_message_id = [100]


def rand_id(n):
    return ''.join(random.choice(string.ascii_letters + string.digits + '-_') for _ in range(n))


def take_fault(method):
    with lock:
        for f in faults:
            if f['count'] > 0 and f['method'] in (method, '*'):
                if f.get('skip', 0) > 0:
                    f['skip'] -= 1
                    continue
                f['count'] -= 1
                return dict(f)
    return None


def parse_multipart(body, content_type):
    boundary = None
    for piece in content_type.split(';'):
        piece = piece.strip()
        if piece.startswith('boundary='):
            boundary = piece[len('boundary='):].strip('"')
    if not boundary:
        raise ValueError('no boundary')
    delim = b'--' + boundary.encode()
    fields, uploads = {}, {}
    for chunk in body.split(delim)[1:]:
        if chunk.startswith(b'--'):
            break
        chunk = chunk[2:] if chunk.startswith(b'\r\n') else chunk
        head, _, content = chunk.partition(b'\r\n\r\n')
        if content.endswith(b'\r\n'):
            content = content[:-2]
        name = filename = None
        for line in head.decode('utf-8', 'replace').split('\r\n'):
            if line.lower().startswith('content-disposition:'):
                for item in line.split(';')[1:]:
                    k, _, v = item.strip().partition('=')
                    v = v.strip('"')
                    if k == 'name':
                        name = v
                    elif k == 'filename':
                        filename = v
        if name is None:
            continue
        if filename is not None:
            uploads[name] = (filename, content)
        else:
            fields[name] = content.decode('utf-8')
    return fields, uploads


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        sys.stderr.write('fake-telegram: ' + (fmt % args) + '\n')

    def record(self, method, status, chunked=False, **extra):
        with lock:
            call = {'method': method, 'status': status, 'at': time.time(), 'chunked': chunked}
            call.update(extra)
            state['calls'].append(call)

    def send_oversize(self, method, head, total):
        self.send_response(200)
        self.send_header('Content-Type', 'application/octet-stream' if method == 'file' else 'application/json')
        self.send_header('Connection', 'close')
        self.end_headers()
        sent = 0
        pad = b'x' * 65536
        try:
            self.wfile.write(head)
            sent = len(head)
            while sent < total:
                chunk = pad[:min(len(pad), total - sent)]
                self.wfile.write(chunk)
                sent += len(chunk)
            self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True
        self.record(method, 'oversize', sent=sent, total=total)

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error_json(self, method, code, description, extra=None):
        obj = {'ok': False, 'error_code': code, 'description': description}
        if extra:
            obj.update(extra)
        self.record(method, code)
        self.send_json(code, obj)

    def read_body(self):
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            return None
        n = int(self.headers.get('Content-Length') or 0)
        out, left = [], n
        while left > 0:
            b = self.rfile.read(min(left, 1 << 20))
            if not b:
                break
            out.append(b)
            left -= len(b)
        return b''.join(out)

    def apply_fault(self, method, fault):
        kind = fault['kind']
        if kind == '429':
            ra = int(fault.get('retry_after', 1))
            self.error_json(method, 429, 'Too Many Requests: retry after %d' % ra,
                            {'parameters': {'retry_after': ra}})
        elif kind == '500':
            self.error_json(method, 500, 'Internal Server Error')
        elif kind == '400':
            self.error_json(method, 400, fault.get('description', 'Bad Request: chat not found'))
        elif kind == 'reset':
            self.record(method, 'reset')
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.connection.close()
            self.close_connection = True
        elif kind == 'truncate':
            self.record(method, 'truncate')
            data = json.dumps({'ok': True, 'result': {'message_id': 1, 'padding': 'x' * 200}}).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif kind == 'oversize':
            self.send_oversize(method, b'{"ok":true,"result":{"padding":"', int(fault.get('bytes', 64 << 20)))
        elif kind == 'hang':
            self.record(method, 'hang')
            time.sleep(float(fault.get('seconds', 5)))
            self.close_connection = True
        else:
            return False
        return True

    # --- control -----------------------------------------------------------
    def control(self):
        body = self.read_body() or b''
        if self.path == '/_control/state':
            with lock:
                snap = json.loads(json.dumps(state))
            return self.send_json(200, snap)
        if self.path == '/_control/fault':
            f = json.loads(body)
            f.setdefault('count', 1)
            f.setdefault('method', '*')
            with lock:
                faults.append(f)
            return self.send_json(200, {'ok': True})
        if self.path == '/_control/reset':
            with lock:
                faults.clear()
                state['messages'].clear()
                state['calls'].clear()
                state['deleted'].clear()
            return self.send_json(200, {'ok': True})
        self.send_json(404, {'ok': False})

    # --- Bot API -----------------------------------------------------------
    def dispatch(self):
        if self.path.startswith('/_control/'):
            return self.control()
        if self.path.startswith('/file/bot'):
            return self.download()
        if not self.path.startswith('/bot'):
            return self.send_json(404, {'ok': False, 'error_code': 404, 'description': 'Not Found'})
        token, _, method = self.path[len('/bot'):].partition('/')
        method = method.split('?')[0]
        chunked = self.headers.get('Transfer-Encoding', '').lower() == 'chunked'
        length = int(self.headers.get('Content-Length') or 0)
        if method == 'sendDocument' and length > UPLOAD_LIMIT:
            # Telegram's front end answers before reading: an HTML page.
            self.record(method, 413)
            page = b'<html><head><title>413 Request Entity Too Large</title></head><body>' \
                   b'<center><h1>413 Request Entity Too Large</h1></center><hr><center>nginx</center></body></html>'
            self.send_response(413)
            self.send_header('Content-Type', 'text/html')
            self.send_header('Content-Length', str(len(page)))
            self.send_header('Connection', 'close')
            self.end_headers()
            self.wfile.write(page)
            self.close_connection = True
            return
        body = self.read_body()
        if body is None:
            self.record(method, 411, chunked=True)
            data = b'<html><body>411 Length Required</body></html>'
            self.send_response(411)
            self.send_header('Content-Type', 'text/html')
            self.send_header('Content-Length', str(len(data)))
            self.send_header('Connection', 'close')
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
            return
        if token != TOKEN:
            return self.error_json(method, 401, 'Unauthorized')
        fault = take_fault(method)
        if fault and self.apply_fault(method, fault):
            return
        ctype = self.headers.get('Content-Type', '')
        if ctype.startswith('multipart/form-data'):
            fields, uploads = parse_multipart(body, ctype)
        elif ctype.startswith('application/json'):
            fields, uploads = json.loads(body or b'{}'), {}
        else:
            from urllib.parse import parse_qs
            fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            uploads = {}
        if method == 'sendDocument':
            return self.send_document(fields, uploads, fault)
        if method == 'getFile':
            return self.get_file(fields)
        if method == 'deleteMessage':
            return self.delete_message(fields, fault)
        if method == 'getMe':
            self.record(method, 200)
            return self.send_json(200, {'ok': True, 'result': {'id': 1, 'is_bot': True, 'first_name': 'fake'}})
        self.error_json(method, 404, 'Not Found: method not found')

    def send_document(self, fields, uploads, fault):
        method = 'sendDocument'
        if 'chat_id' not in fields or not str(fields['chat_id']):
            return self.error_json(method, 400, 'Bad Request: chat_id is empty')
        if 'document' not in uploads:
            return self.error_json(method, 400, 'Bad Request: there is no document in the request')
        filename, content = uploads['document']
        import hashlib
        with lock:
            next_message_id[0] += 1
            mid = next_message_id[0]
        file_id = 'BQAC' + rand_id(40)
        unique = 'AgAD' + rand_id(12)
        path = 'documents/file_%d.bin' % mid
        with open(os.path.join(DATA, path), 'wb') as f:
            f.write(content)
        chat = str(fields['chat_id'])
        doc = {'file_name': filename, 'mime_type': 'application/octet-stream', 'file_id': file_id,
               'file_unique_id': unique, 'file_size': len(content)}
        msg = {'message_id': mid, 'date': int(time.time()),
               'chat': {'id': int(chat) if chat.lstrip('-').isdigit() else chat, 'type': 'private'},
               'document': doc}
        if fields.get('caption'):
            msg['caption'] = fields['caption']
        with lock:
            files[file_id] = {'path': path, 'size': len(content), 'unique': unique}
            state['messages'].append({'message_id': mid, 'chat_id': chat, 'file_id': file_id,
                                      'file_name': filename, 'caption': fields.get('caption', ''),
                                      'size': len(content), 'path': os.path.join(DATA, path),
                                      'sha256': hashlib.sha256(content).hexdigest(), 'at': time.time()})
        if fault and fault['kind'] == 'delay':
            time.sleep(float(fault.get('seconds', 1)))
        self.record(method, 200)
        self.send_json(200, {'ok': True, 'result': msg})

    def get_file(self, fields):
        method = 'getFile'
        with lock:
            f = files.get(str(fields.get('file_id', '')))
        if not f:
            return self.error_json(method, 400, 'Bad Request: invalid file_id')
        if f['size'] > GETFILE_LIMIT:
            return self.error_json(method, 400, 'Bad Request: file is too big')
        self.record(method, 200)
        self.send_json(200, {'ok': True, 'result': {'file_id': fields['file_id'], 'file_unique_id': f['unique'],
                                                    'file_size': f['size'], 'file_path': f['path']}})

    def delete_message(self, fields, fault):
        method = 'deleteMessage'
        if fault and fault['kind'] == 'refuse_delete':
            return self.error_json(method, 400, "Bad Request: message can't be deleted")
        mid = int(fields.get('message_id', 0))
        with lock:
            known = any(m['message_id'] == mid for m in state['messages']) and mid not in state['deleted']
            if known:
                state['deleted'].append(mid)
        if not known:
            return self.error_json(method, 400, 'Bad Request: message to delete not found')
        self.record(method, 200)
        self.send_json(200, {'ok': True, 'result': True})

    def download(self):
        self.read_body()
        rest = self.path[len('/file/bot'):]
        token, _, path = rest.partition('/')
        if token != TOKEN:
            self.record('file', 401)
            return self.send_json(401, {'ok': False, 'error_code': 401, 'description': 'Unauthorized'})
        fault = take_fault('file')
        full = os.path.join(DATA, path)
        if '..' in path or not os.path.isfile(full):
            self.record('file', 404)
            return self.send_json(404, {'ok': False, 'error_code': 404, 'description': 'Not Found'})
        if fault and fault['kind'] not in ('corrupt', 'oversize') and self.apply_fault('file', fault):
            return
        with open(full, 'rb') as f:
            data = bytearray(f.read())
        if fault and fault['kind'] == 'oversize':
            return self.send_oversize('file', bytes(data), len(data) + int(fault.get('bytes', 64 << 20)))
        if fault and fault['kind'] == 'corrupt' and data:
            data[len(data) // 2] ^= 0xFF
        self.record('file', 200)
        self.send_response(200)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(bytes(data))

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def main():
    server = Server(('127.0.0.1', 0), Handler)
    print('PORT %d' % server.server_address[1], flush=True)
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()


main()
