"""A tiny DNS server for the tests: TXT answers only, over UDP on
127.0.0.1, from a table the test fills (the test stack never uses real
DNS). Standard library only.

    server = DnsTxt({"_dmarc.example.test": ["v=DMARC1; p=reject"]})
    server.port            # where it listens
    server.silent.add(name)  # never answer this name (a time-out)
    server.servfail.add(name)
    server.asked           # the names asked, in order
    server.stop()

A name in the table answers its TXT records (each text split into
strings of at most 255 bytes, as DNS carries them); a name not in it
answers NXDOMAIN; a question for another type answers no data.
"""

import socket
import struct
import threading

TYPE_TXT = 16
CLASS_IN = 1


def _read_name(packet, pos):
    labels = []
    while True:
        n = packet[pos]
        pos += 1
        if n == 0:
            return ".".join(labels), pos
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(packet[pos:pos + n].decode("ascii", "replace"))
        pos += n


def _txt_rdata(text):
    data = text.encode()
    out = b""
    for i in range(0, max(len(data), 1), 255):
        chunk = data[i:i + 255]
        out += bytes([len(chunk)]) + chunk
    return out


class DnsTxt:
    def __init__(self, records=None):
        self.records = dict(records or {})
        self.silent = set()
        self.servfail = set()
        self.asked = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _answer(self, packet):
        qid, flags, qdcount = struct.unpack("!HHH", packet[:6])
        if qdcount != 1:
            return None
        name, pos = _read_name(packet, 12)
        qtype, qclass = struct.unpack("!HH", packet[pos:pos + 4])
        question = packet[12:pos + 4]
        key = name.lower().rstrip(".")
        self.asked.append(key)
        if key in self.silent:
            return None
        rd = flags & 0x0100
        answers = []
        rcode = 0
        if key in self.servfail:
            rcode = 2
        elif key not in self.records:
            rcode = 3
        elif qtype == TYPE_TXT and qclass == CLASS_IN:
            answers = self.records[key]
        header = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080
                             | rcode, 1, len(answers), 0, 0)
        body = question
        for text in answers:
            rdata = _txt_rdata(text)
            # the name as a pointer to the question's (offset 12)
            body += struct.pack("!HHHIH", 0xC00C, TYPE_TXT, CLASS_IN, 60,
                                len(rdata)) + rdata
        return header + body

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                packet, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                reply = self._answer(packet)
            except (ValueError, IndexError, struct.error):
                continue
            if reply is not None:
                self.sock.sendto(reply, peer)

    def stop(self):
        self._stop = True
        self.thread.join(timeout=5)
        self.sock.close()
