#!/usr/bin/env python3
"""Local stand-ins for Alertmanager's external receivers, recording what they receive.

  e2e_sinks.py --http-port P --smtp-port S --records FILE

HTTP on 127.0.0.1:P: POST /pagerduty (PagerDuty Events API v2), /slack (Slack incoming
webhook), /soc (the SOC webhook) answer as the real services do (202 / "ok" / 200); SMTP on
127.0.0.1:S accepts every mail (no TLS, no authentication). Each notification becomes one
JSON line in FILE and one entry of GET /records:
  {"seq", "time", "sink": pagerduty|slack|soc|email, "to": routing key, channel, "soc" or
   mail recipient, "status": firing|resolved, "text": everything a human would read,
   "alerts": [label sets, webhook only], "authorization": header, "body": what was sent}
Python 3 standard library only (no smtpd: it is gone in Python 3.12).
"""
import argparse
import email
import email.policy
import json
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
RECORDS = []
OUT = None


def record(sink, to, status, text, body, alerts=None, authorization=None):
    with LOCK:
        entry = {"seq": len(RECORDS), "time": time.time(), "sink": sink, "to": to, "status": status,
                 "text": text, "alerts": alerts or [], "authorization": authorization, "body": body}
        RECORDS.append(entry)
        OUT.write(json.dumps(entry) + "\n")
        OUT.flush()


def from_pagerduty(doc):
    details = doc.get("payload", {}).get("custom_details", {})
    text = "\n".join([doc.get("payload", {}).get("summary", ""), str(details.get("summary", "")),
                      "Runbook: " + str(details.get("runbook", ""))])
    status = "resolved" if doc.get("event_action") == "resolve" else "firing"
    return doc.get("routing_key"), status, text


def from_slack(doc):
    parts = []
    for att in doc.get("attachments", []):
        parts += [att.get("title", ""), att.get("text", "")]
    title = parts[0] if parts else ""
    return doc.get("channel"), "resolved" if title.startswith("[RESOLVED") else "firing", "\n".join(parts)


def from_webhook(doc):
    lines = []
    for a in doc.get("alerts", []):
        lines.append(" ".join(f"{k}={v}" for k, v in sorted(a.get("labels", {}).items())))
        lines.append("Runbook: " + a.get("annotations", {}).get("runbook_url", ""))
    return "soc", doc.get("status"), "\n".join(lines), [a.get("labels", {}) for a in doc.get("alerts", [])]


class Http(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype="application/json"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/records"):
            with LOCK:
                return self.reply(200, json.dumps(RECORDS))
        if self.path == "/":
            return self.reply(200, "sinks: POST /pagerduty /slack /soc, SMTP; GET /records\n", "text/plain")
        self.reply(404, "{}")

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            doc = json.loads(raw)
        except ValueError:
            return self.reply(400, '{"status":"invalid json"}')
        auth = self.headers.get("Authorization")
        if self.path == "/pagerduty":
            to, status, text = from_pagerduty(doc)
            record("pagerduty", to, status, text, doc, authorization=auth)
            return self.reply(202, '{"status":"success","message":"Event processed","dedup_key":"x"}')
        if self.path == "/slack":
            to, status, text = from_slack(doc)
            record("slack", to, status, text, doc, authorization=auth)
            return self.reply(200, "ok", "text/plain")
        if self.path == "/soc":
            to, status, text, alerts = from_webhook(doc)
            record("soc", to, status, text, doc, alerts=alerts, authorization=auth)
            return self.reply(200, "{}")
        self.reply(404, "{}")


class Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for Alertmanager: EHLO without STARTTLS or AUTH, one or more mails."""

    def send(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.send("220 127.0.0.1 e2e sink")
        rcpt = []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode(errors="replace").strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.send("250-127.0.0.1")
                self.send("250 8BITMIME")
            elif verb == "HELO":
                self.send("250 127.0.0.1")
            elif verb == "MAIL":
                rcpt = []
                self.send("250 OK")
            elif verb == "RCPT":
                rcpt.append(cmd.split(":", 1)[1].strip().strip("<>"))
                self.send("250 OK")
            elif verb == "DATA":
                self.send("354 end with .")
                data = []
                while True:
                    chunk = self.rfile.readline()
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                self.mail(rcpt, b"".join(data))
                self.send("250 OK")
            elif verb == "QUIT":
                self.send("221 bye")
                return
            elif verb in ("RSET", "NOOP"):
                self.send("250 OK")
            else:
                self.send("502 not implemented")

    def mail(self, rcpt, data):
        msg = email.message_from_bytes(data, policy=email.policy.default)
        subject = str(msg.get("Subject", ""))
        part = msg.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part else ""
        status = "resolved" if subject.startswith("[RESOLVED") else "firing"
        for to in rcpt:
            record("email", to, status, subject + "\n" + body, {"subject": subject, "to": to})


class SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global OUT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--smtp-port", type=int, required=True)
    ap.add_argument("--records", required=True)
    args = ap.parse_args()
    OUT = open(args.records, "a")
    smtp = SmtpServer(("127.0.0.1", args.smtp_port), Smtp)
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    http = ThreadingHTTPServer(("127.0.0.1", args.http_port), Http)
    http.daemon_threads = True
    http.serve_forever()


if __name__ == "__main__":
    main()
