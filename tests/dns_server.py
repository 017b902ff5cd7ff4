"""A tiny authoritative DNS server on a loopback UDP port, speaking the real wire format
(dnspython's message codec): it answers TXT, A and AAAA questions from dicts and NXDOMAIN
otherwise, or
stays silent (`silent=True`) to exercise the resolver's timeout."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


@dataclass
class LoopbackDns:
    port: int
    txt: dict[str, list[str]] = field(default_factory=dict)
    a: dict[str, list[str]] = field(default_factory=dict)
    aaaa: dict[str, list[str]] = field(default_factory=dict)
    silent: bool = False
    questions: list[str] = field(default_factory=list)

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"


def _serve(sock: socket.socket, server: LoopbackDns, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            wire, peer = sock.recvfrom(4096)
        except TimeoutError:
            continue
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        server.questions.append(name)
        if server.silent:
            continue
        response = dns.message.make_response(query)
        records = {dns.rdatatype.TXT: server.txt, dns.rdatatype.A: server.a, dns.rdatatype.AAAA: server.aaaa}
        values = records.get(question.rdtype, {}).get(name)
        if values:
            texts = [f'"{value}"' for value in values] if question.rdtype == dns.rdatatype.TXT else values
            response.answer.append(
                dns.rrset.from_text_list(question.name, 60, dns.rdataclass.IN, question.rdtype, texts)
            )
        elif not any(name in table for table in records.values()):
            # A name known with other record types gets an empty answer (NoAnswer) instead.
            response.set_rcode(dns.rcode.NXDOMAIN)
        sock.sendto(response.to_wire(), peer)


@contextmanager
def loopback_dns() -> Iterator[LoopbackDns]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    server = LoopbackDns(port=sock.getsockname()[1])
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(sock, server, stop), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join()
        sock.close()
