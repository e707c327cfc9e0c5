#!/usr/bin/env python3
"""Streamformer client for Python: produce requests, consume predictions, latency events and dead letters.

Needs nothing but Debian's python3-confluent-kafka (librdkafka) and python3-avro (Apache Avro):

    apt-get install -y python3-confluent-kafka python3-avro

Records are Avro single-object encoded: the bytes C3 01, the 8-byte little-endian CRC-64-AVRO
fingerprint of the writer schema's parsing canonical form, then the Avro binary body. Apache Avro's
Python library (1.11.0 to 1.12.1) computes that canonical form wrongly for a primitive that carries a
logicalType (it writes {"type":"long"} where the specification and Java write "long"), so its
fingerprint of TokenizedInput differs from the processor's and every request would be dead-lettered.
This module computes canonical forms and fingerprints itself (parsing_canonical_form, fingerprint)
and uses the library only for the Avro body.

The processor also reads requests in a schema registry's framing (the byte 00, the 4-byte schema id,
the Avro body: what Confluent's and Apicurio's serializers write) and as JSON, and can write its outputs
either way (streamformer.output.format). --format confluent produces through confluent_kafka.avro with
--registry-url; --format json needs no Avro at all. consume reads every format, told by the first bytes.

Command line (-b first, then the command):

    streamformer_client.py -b localhost:9092 produce --text "Cheap meds, click here"
    streamformer_client.py -b localhost:9092 --registry-url http://localhost:8080/apis/ccompat/v7 \
        produce --format confluent --text "Cheap meds, click here"
    streamformer_client.py -b localhost:9092 produce --format json --text "Cheap meds" --header traceparent=00-...
    streamformer_client.py -b localhost:9092 produce --token-ids 2,1012,2040,3 --id r-1
    streamformer_client.py -b localhost:9092 produce --file mails.txt
    streamformer_client.py -b localhost:9092 consume --topic predictions --max-messages 5
    streamformer_client.py fingerprints

As a module:

    import streamformer_client as sf
    schemas = sf.Schemas.load()
    producer = sf.RequestProducer("localhost:9092", schemas)
    producer.send_text("r-1", "Cheap meds, click here")
    producer.flush()
"""

import argparse
import base64
import datetime
import io
import json
import os
import struct
import sys
import uuid

import time

try:
    import avro.io
    import avro.schema
    from confluent_kafka import Consumer, KafkaError, Producer
except ImportError as missing:
    sys.exit("streamformer_client.py needs Debian's python3-confluent-kafka and python3-avro (%s under %s).\n"
             "Install them with: apt-get install -y python3-confluent-kafka python3-avro\n"
             "and run this script with Debian's own interpreter, /usr/bin/python3: a pyenv or venv python does not"
             " see Debian's packages." % (missing, sys.executable))

HEADER = b"\xc3\x01"
TOPICS = {
    "requests": "streamformer-requests",
    "predictions": "streamformer-predictions",
    "latency": "streamformer-latency",
    "dead-letters": "streamformer-dead-letters",
    "stats": "streamformer-latency-stats",
}
VALUE_SCHEMA = {
    "requests": "TokenizedInput",
    "predictions": "Prediction",
    "latency": "LatencyEvent",
    "dead-letters": "DeadLetter",
    "stats": "LatencyStats",
}
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
_KEEP = ("name", "type", "fields", "symbols", "items", "values", "size")


def _default_schema_dir():
    env = os.environ.get("STREAMFORMER_SCHEMAS")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "schemas", "src", "main", "avro")


def parsing_canonical_form(schema):
    """The Parsing Canonical Form of a schema given as parsed JSON, as the Avro specification defines it.

    Primitives become their bare name even when they carry other attributes (a logicalType, for
    example); names become full names; only name, type, fields, symbols, items, values and size are
    kept, in that order; a named type is written in full once and by name afterwards.
    """
    return _canonical(schema, None, set())


def _fullname(name, namespace):
    if "." in name or not namespace:
        return name
    return namespace + "." + name


def _canonical(schema, namespace, seen):
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return json.dumps(schema)
        return json.dumps(_fullname(schema, namespace))
    if isinstance(schema, list):
        return "[" + ",".join(_canonical(s, namespace, seen) for s in schema) + "]"
    kind = schema["type"]
    if isinstance(kind, (dict, list)):
        return _canonical(kind, namespace, seen)  # {"type": {...}}: the inner schema
    if kind in _PRIMITIVES:
        return json.dumps(kind)  # a primitive with attributes (a logicalType) collapses to its name
    parts = []
    if kind in ("record", "enum", "fixed", "error"):
        name = _fullname(schema["name"], schema.get("namespace", namespace))
        if name in seen:
            return json.dumps(name)
        seen.add(name)
        namespace = name.rsplit(".", 1)[0] if "." in name else None
        parts.append('"name":' + json.dumps(name))
    parts.append('"type":' + json.dumps("record" if kind == "error" else kind))
    if kind in ("record", "error"):
        fields = []
        for field in schema["fields"]:
            fields.append('{"name":' + json.dumps(field["name"]) + ',"type":'
                          + _canonical(field["type"], namespace, seen) + "}")
        parts.append('"fields":[' + ",".join(fields) + "]")
    if kind == "enum":
        parts.append('"symbols":[' + ",".join(json.dumps(s) for s in schema["symbols"]) + "]")
    if kind == "array":
        parts.append('"items":' + _canonical(schema["items"], namespace, seen))
    if kind == "map":
        parts.append('"values":' + _canonical(schema["values"], namespace, seen))
    if kind == "fixed":
        parts.append('"size":' + str(int(schema["size"])))
    return "{" + ",".join(parts) + "}"


_EMPTY = 0xC15D213AA4D7A795
_TABLE = []
for _i in range(256):
    _fp = _i
    for _ in range(8):
        _fp = (_fp >> 1) ^ (_EMPTY & -(_fp & 1))
    _TABLE.append(_fp & 0xFFFFFFFFFFFFFFFF)


def fingerprint(canonical_form):
    """CRC-64-AVRO (Rabin) of a canonical form, as the 8 little-endian bytes single-object encoding carries."""
    fp = _EMPTY
    for byte in canonical_form.encode("utf-8"):
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return struct.pack("<Q", fp & 0xFFFFFFFFFFFFFFFF)


class Schemas:
    """The topics' schemas, parsed by Apache Avro for bodies, fingerprinted here for headers."""

    def __init__(self, by_name):
        self.by_name = by_name  # name -> (avro schema, fingerprint bytes, canonical form)
        self.by_fingerprint = {fp: (name, parsed) for name, (parsed, fp, _) in by_name.items()}

    @classmethod
    def load(cls, directory=None):
        directory = directory or _default_schema_dir()
        by_name = {}
        for name in ("TokenizedInput", "Prediction", "LatencyEvent", "DeadLetter", "LatencyStats", "ModelRelease",
                     "ModelStatus", "BufferedRequest"):
            path = os.path.join(directory, name + ".avsc")
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                raise SystemExit("cannot read %s (%s): pass --schemas <dir with the .avsc files>" % (path, e))
            canonical = parsing_canonical_form(json.loads(text))
            by_name[name] = (avro.schema.parse(text), fingerprint(canonical), canonical)
        # Earlier versions of the schemas (for example Prediction-1.avsc), so records written by an older
        # processor still decode: <dir>/history, or the repository's own history beside src/main/avro.
        for history in (os.path.join(directory, "history"),
                        os.path.join(directory, "..", "resources", "dev", "streamformer", "schemas", "history")):
            if not os.path.isdir(history):
                continue
            for file in sorted(os.listdir(history)):
                stem, _, version = file[:-len(".avsc")].rpartition("-") if file.endswith(".avsc") else ("", "", "")
                if stem and version.isdigit():
                    with open(os.path.join(history, file), encoding="utf-8") as f:
                        text = f.read()
                    canonical = parsing_canonical_form(json.loads(text))
                    by_name["%s version %s" % (stem, version)] = (avro.schema.parse(text), fingerprint(canonical),
                                                                  canonical)
            break
        return cls(by_name)

    def encode(self, name, datum):
        parsed, fp, _ = self.by_name[name]
        buf = io.BytesIO()
        buf.write(HEADER)
        buf.write(fp)
        avro.io.DatumWriter(parsed).write(datum, avro.io.BinaryEncoder(buf))
        return buf.getvalue()

    def decode(self, data):
        """Returns (schema name, record as a dict) of a single-object encoded value."""
        if data is None or len(data) < 10 or data[:2] != HEADER:
            raise ValueError("not Avro single-object encoding (no C3 01 header)")
        found = self.by_fingerprint.get(bytes(data[2:10]))
        if found is None:
            raise ValueError("unknown schema fingerprint %s" % data[2:10].hex())
        name, parsed = found
        reader = avro.io.DatumReader(parsed, parsed)
        return name, reader.read(avro.io.BinaryDecoder(io.BytesIO(data[10:])))


def text_request(request_id, text, model=None, metadata=None):
    """A request that carries text: the processor tokenizes it with the served model's own tokenizer.

    Raises ValueError for an empty or blank text, which the processor refuses as a VALIDATION dead letter.
    """
    if text is None or not text.strip():
        raise ValueError("request %s: the text is empty; the processor would refuse it as a VALIDATION dead letter,"
                         " so it is not sent" % request_id)
    return _request(request_id, [], text, model, metadata)


def token_request(request_id, token_ids, model=None, metadata=None):
    """A request that carries token ids from the served model's tokenizer, [CLS] ... [SEP] included."""
    return _request(request_id, [int(t) for t in token_ids], None, model, metadata)


def _request(request_id, token_ids, text, model, metadata):
    return {
        "request_id": request_id,
        "token_ids": token_ids,
        "attention_mask": None,
        "segment_ids": None,
        "model": model,
        "created_at": datetime.datetime.now(datetime.timezone.utc),
        "metadata": dict(metadata or {}),
        "text": text,
    }


FORMATS = ("avro", "confluent", "json")


class Registry:
    """A schema registry's Confluent-compatible API through confluent_kafka.avro (python3-avro, python3-requests)."""

    def __init__(self, url):
        try:
            from confluent_kafka.avro import CachedSchemaRegistryClient, MessageSerializer
        except ImportError as missing:
            raise SystemExit("the registry framing needs python3-requests beside python3-confluent-kafka (%s):"
                             " apt-get install -y python3-requests" % missing)
        self.url = url
        self.serializer = MessageSerializer(CachedSchemaRegistryClient({"url": url}))

    def encode(self, topic, schema, datum):
        """The framed value: 00, the id of the schema under <topic>-value (registered if new), the Avro body."""
        return self.serializer.encode_record_with_schema(topic, schema, datum)

    def decode(self, data):
        return self.serializer.decode_message(data)


def json_request(request):
    """A request as the processor reads JSON (schemas/src/main/json/TokenizedInput.schema.json)."""
    out = {k: v for k, v in request.items() if v is not None and v != [] and v != {}}
    out["created_at"] = int(request["created_at"].timestamp() * 1000)
    return json.dumps(out).encode("utf-8")


class RequestProducer:
    """Produces requests keyed by request id with an idempotent producer, in one of FORMATS."""

    def __init__(self, bootstrap, schemas, topic=TOPICS["requests"], config=None, fmt="avro", registry=None,
                 headers=None):
        if fmt not in FORMATS:
            raise ValueError("format %r: use one of %s" % (fmt, ", ".join(FORMATS)))
        if fmt == "confluent" and registry is None:
            raise SystemExit("--format confluent needs --registry-url (the registry's Confluent-compatible API)")
        conf = {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"}
        conf.update(config or {})
        self.producer = Producer(conf)
        self.schemas = schemas
        self.topic = topic
        self.format = fmt
        self.registry = registry
        self.headers = list((headers or {}).items())
        self.errors = []

    def encode(self, request):
        if self.format == "json":
            return json_request(request)
        if self.format == "confluent":
            return self.registry.encode(self.topic, self.schemas.by_name["TokenizedInput"][0], request)
        return self.schemas.encode("TokenizedInput", request)

    def send(self, request):
        def report(err, _msg):
            if err is not None:
                self.errors.append(err)

        self.producer.produce(self.topic, key=request["request_id"].encode("utf-8"), value=self.encode(request),
                              headers=self.headers or None, on_delivery=report)
        self.producer.poll(0)

    def send_text(self, request_id, text, **kw):
        self.send(text_request(request_id, text, **kw))

    def send_token_ids(self, request_id, token_ids, **kw):
        self.send(token_request(request_id, token_ids, **kw))

    def flush(self, timeout=30.0):
        left = self.producer.flush(timeout)
        if left or self.errors:
            raise RuntimeError("%d requests not acknowledged within %s s; errors: %s" % (left, timeout, self.errors))


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def decode(schemas, data, registry=None):
    """(schema name or format, record as a dict) of a value in any format the processor writes."""
    if data is not None and data[:1] == b"{":
        return "json", json.loads(data.decode("utf-8"))
    if data is not None and data[:1] == b"\x00" and len(data) >= 5:
        if registry is None:
            raise ValueError("value in a schema registry's framing (schema id %d): give --registry-url"
                             % struct.unpack(">I", data[1:5])[0])
        return "confluent id %d" % struct.unpack(">I", data[1:5])[0], registry.decode(data)
    return schemas.decode(data)


def consume(bootstrap, topic, schemas, max_messages=None, timeout=10.0, config=None, out=sys.stdout, follow=False,
            registry=None):
    """Reads committed records from the beginning and writes one JSON object per record.

    Stops after max_messages records, at the end of every partition (unless follow), or when nothing
    arrived for timeout seconds. Returns the count.
    """
    conf = {"bootstrap.servers": bootstrap, "group.id": "streamformer-client-" + uuid.uuid4().hex[:8],
            "auto.offset.reset": "earliest", "enable.auto.commit": False, "isolation.level": "read_committed",
            "enable.partition.eof": not follow}
    conf.update(config or {})
    consumer = Consumer(conf)
    consumer.subscribe([topic])
    count = 0
    at_end = set()
    quiet_since = time.monotonic()
    try:
        while max_messages is None or count < max_messages:
            msg = consumer.poll(min(0.5, timeout))
            if msg is None:
                assigned = {(p.topic, p.partition) for p in consumer.assignment()}
                if time.monotonic() - quiet_since >= timeout or (not follow and assigned and assigned <= at_end):
                    break
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add((msg.topic(), msg.partition()))
                    assigned = {(p.topic, p.partition) for p in consumer.assignment()}
                    if not follow and assigned and assigned <= at_end:
                        break
                    continue
                raise RuntimeError(str(msg.error()))
            quiet_since = time.monotonic()
            at_end.discard((msg.topic(), msg.partition()))
            line = {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
                    "key": _key(msg.key()), "headers": {k: _header(v) for k, v in (msg.headers() or [])}}
            try:
                name, value = decode(schemas, msg.value(), registry)
                line["schema"] = name
                line["value"] = _jsonable(value)
            except Exception as e:  # one undecodable record does not stop the reader: it is printed as such
                line["error"] = str(e)
                line["value_base64"] = base64.b64encode(msg.value() or b"").decode("ascii")
            out.write(json.dumps(line) + "\n")
            out.flush()
            count += 1
    finally:
        consumer.close()
    return count


def _key(key):
    if key is None:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(key).decode("ascii")


def _header(value):
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(value).decode("ascii")


def _requests_from_args(args):
    base = args.id or "py-" + uuid.uuid4().hex[:12]
    items = []
    for text in args.text or []:
        items.append(("text", text))
    for ids in args.token_ids or []:
        items.append(("ids", ids))
    if args.file:
        stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
        with stream:
            for line in stream:
                line = line.strip()
                if line:
                    is_ids = all(part.strip().isdigit() for part in line.split(","))
                    items.append(("ids" if is_ids else "text", line))
    if not items:
        raise SystemExit("nothing to produce: give --text TEXT, --token-ids 2,17,3 or --file PATH ('-' for stdin)")
    requests = []
    for n, (kind, payload) in enumerate(items):
        request_id = base if len(items) == 1 else "%s-%d" % (base, n)
        if kind == "text":
            try:
                requests.append(text_request(request_id, payload, model=args.model))
            except ValueError as e:
                raise SystemExit(str(e))
        else:
            try:
                ids = [int(p) for p in payload.split(",") if p.strip()]
            except ValueError:
                raise SystemExit("--token-ids takes comma-separated integers, got %r" % payload)
            requests.append(token_request(request_id, ids, model=args.model))
    return requests


def main(argv=None):
    parser = argparse.ArgumentParser(prog="streamformer_client.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("-b", "--bootstrap-servers", default="localhost:9092",
                        help="Kafka bootstrap servers (default: %(default)s)")
    parser.add_argument("--schemas", default=None,
                        help="directory with the .avsc files (default: $STREAMFORMER_SCHEMAS or the repository's"
                             " schemas/src/main/avro)")
    parser.add_argument("--registry-url", default=None,
                        help="schema registry's Confluent-compatible API (Apicurio: http://host:8080/apis/ccompat/v7),"
                             " for --format confluent and to read framed outputs")
    parser.add_argument("-X", dest="config", action="append", default=[], metavar="KEY=VALUE",
                        help="a librdkafka setting, for example -X security.protocol=SASL_SSL (repeatable)")
    commands = parser.add_subparsers(dest="command", required=True)

    produce = commands.add_parser("produce", help="produce requests (text or token ids)")
    produce.add_argument("--text", action="append", help="a request carrying this text (repeatable)")
    produce.add_argument("--token-ids", action="append", metavar="IDS",
                         help="a request carrying these comma-separated token ids (repeatable)")
    produce.add_argument("--file", help="one request per non-blank line: comma-separated integers are token ids,"
                                        " anything else is text; '-' reads stdin")
    produce.add_argument("--id", help="request id (with several requests: <id>-0, <id>-1, ...; default: random)")
    produce.add_argument("--model", help="name of the model that must serve the requests (default: the processor's)")
    produce.add_argument("--topic", default=TOPICS["requests"], help="request topic (default: %(default)s)")
    produce.add_argument("--format", default="avro", choices=FORMATS,
                         help="avro (single-object encoding), confluent (a schema registry's framing, through"
                              " confluent_kafka.avro; needs --registry-url) or json (default: %(default)s)")
    produce.add_argument("--header", action="append", default=[], metavar="KEY=VALUE",
                         help="a Kafka header on every request, for example traceparent=00-<trace>-<span>-01"
                              " (repeatable); the processor copies traceparent, tracestate and correlation-id to the"
                              " outputs")

    read = commands.add_parser("consume", help="print records of an output topic as JSON lines")
    read.add_argument("--topic", default="predictions", choices=["predictions", "latency", "dead-letters", "stats"],
                      help="which output (default: %(default)s)")
    read.add_argument("--topic-name", help="the topic's name, when not the default streamformer-<topic>")
    read.add_argument("--max-messages", type=int, default=None, help="stop after N records (default: all there are)")
    read.add_argument("--timeout", type=float, default=10.0,
                      help="stop when nothing arrives for this many seconds (default: %(default)s)")
    read.add_argument("--follow", action="store_true",
                      help="keep reading new records after the end of every partition (until --timeout or"
                           " --max-messages); without it, stop at the end")

    commands.add_parser("fingerprints", help="print each schema's fingerprint (hex) and parsing canonical form")

    args = parser.parse_args(argv)
    config = dict(kv.split("=", 1) for kv in args.config)
    schemas = Schemas.load(args.schemas)
    registry = Registry(args.registry_url) if args.registry_url else None
    if args.command == "fingerprints":
        for name, (_, fp, canonical) in schemas.by_name.items():
            print("%s %s %s" % (name, fp.hex(), canonical))
        return 0
    if args.command == "produce":
        requests = _requests_from_args(args)
        headers = dict(kv.split("=", 1) for kv in args.header)
        producer = RequestProducer(args.bootstrap_servers, schemas, topic=args.topic, config=config, fmt=args.format,
                                   registry=registry, headers=headers)
        for request in requests:
            producer.send(request)
        producer.flush()
        for request in requests:
            print(request["request_id"])
        return 0
    topic = args.topic_name or TOPICS[args.topic]
    consume(args.bootstrap_servers, topic, schemas, args.max_messages, args.timeout, config, follow=args.follow,
            registry=registry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
