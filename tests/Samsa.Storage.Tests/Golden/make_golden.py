#!/usr/bin/env python3
"""Independent encoder for the golden files: writes Kafka's v2 batch, .index and .timeindex layouts straight
from the format description (kafka.apache.org/documentation/#recordbatch, #record, and the OffsetIndex /
TimeIndex class docs), with its own CRC-32C. Nothing here calls Samsa code, so the C# tests compare Samsa's
output against a second implementation of the same spec.

Regenerate: python3 tests/Samsa.Storage.Tests/Golden/make_golden.py  (run from the repository root)
"""
import gzip, io, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURES = os.path.join(HERE, "..", "Captures")
T0 = 1_700_000_000_000

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF

def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)

def varint(v):  # zig-zag, 64-bit safe
    return uvarint((v << 1) ^ (v >> 63))

def record(offset_delta, ts_delta, key, value, headers=()):
    body = b"\x00" + varint(ts_delta) + varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(-1) if value is None else varint(len(value)) + value
    body += varint(len(headers))
    for hk, hv in headers:
        body += varint(len(hk)) + hk + (varint(-1) if hv is None else varint(len(hv)) + hv)
    return varint(len(body)) + body

def batch(records, base_offset=0, epoch=-1, attributes=0, base_ts=T0, max_ts=T0, pid=-1, pepoch=-1, seq=-1, section=None):
    recs = b"".join(r for r in records) if section is None else section
    after_crc = struct.pack(">hiqqqhii", attributes, len(records) - 1, base_ts, max_ts, pid, pepoch, seq, len(records)) + recs
    crc = crc32c(after_crc)
    length = 4 + 1 + 4 + len(after_crc)          # partitionLeaderEpoch + magic + crc + rest
    return struct.pack(">qiibI", base_offset, length, epoch, 2, crc) + after_crc

def annotate(b, base):
    """Field-by-field hex of one batch, so a reader can check the layout by eye."""
    fields = [("baseOffset", 8), ("batchLength", 4), ("partitionLeaderEpoch", 4), ("magic", 1), ("crc", 4),
              ("attributes", 2), ("lastOffsetDelta", 4), ("baseTimestamp", 8), ("maxTimestamp", 8),
              ("producerId", 8), ("producerEpoch", 2), ("baseSequence", 4), ("recordCount", 4)]
    out, pos = [], 0
    for name, size in fields:
        out.append(f"{b[pos:pos+size].hex():<24} # {name}")
        pos += size
    out.append(f"{b[pos:].hex()} # records")
    return "\n".join(out)

def golden():
    # Three appends as a producer would send them, appended with leader epoch 5 and index.interval.bytes=1.
    a1 = [record(0, 0, b"k", b"v1")]
    a2 = [record(0, 0, b"k", b"v2"), record(1, 1, b"j", None)]
    a3 = [record(0, 0, b"k", b"v3", [(b"h", b"x")])]
    b1 = batch(a1, 0, 5, base_ts=T0, max_ts=T0)
    b2 = batch(a2, 1, 5, base_ts=T0 + 1, max_ts=T0 + 2)
    b3 = batch(a3, 3, 5, base_ts=T0 + 3, max_ts=T0 + 3)
    log = b1 + b2 + b3
    # OffsetIndex: an entry per append once more than index.interval.bytes were written since the last one;
    # it maps the append's last offset (relative int32) to the append's start position (int32).
    index = struct.pack(">ii", 2, len(b1)) + struct.pack(">ii", 3, len(b1) + len(b2))
    # TimeIndex: (max timestamp so far int64, relative offset of that timestamp int32) at the same moments.
    timeindex = struct.pack(">qi", T0 + 2, 2) + struct.pack(">qi", T0 + 3, 3)
    with open(os.path.join(HERE, "segment.log.hex"), "w") as f:
        f.write("# 00000000000000000000.log after three appends (leader epoch 5), layout per Kafka's RecordBatch docs\n")
        for b in (b1, b2, b3):
            f.write(annotate(b, 0) + "\n\n")
    with open(os.path.join(HERE, "segment.index.hex"), "w") as f:
        f.write("# 00000000000000000000.index after clean close: [relativeOffset int32][position int32] per entry\n")
        f.write(index.hex() + "\n")
    with open(os.path.join(HERE, "segment.timeindex.hex"), "w") as f:
        f.write("# 00000000000000000000.timeindex after clean close: [timestamp int64][relativeOffset int32] per entry\n")
        f.write(timeindex.hex() + "\n")

# ---- constructed producer batches, one per codec, shaped like the Java client's (idempotent producer:
# producerId 1000, epoch 0, sequence 0; baseOffset 0; partitionLeaderEpoch -1 as sent by clients).
def plain_records():
    return [record(i, i, b"key-%d" % i, b"value-%d " % i * 20, [(b"trace", b"abc")] if i == 1 else []) for i in range(3)]

def snappy_literal_block(data):
    # Snappy block format: uvarint uncompressed length, then one literal element (tag 0xF0 | length bytes).
    n = len(data) - 1
    if n < 60:
        return uvarint(len(data)) + bytes([n << 2]) + data
    width = (n.bit_length() + 7) // 8
    return uvarint(len(data)) + bytes([(59 + width) << 2]) + n.to_bytes(width, "little") + data

def xerial(data):
    # snappy-java SnappyOutputStream: magic 82 'SNAPPY' 00, version 1, compatible version 1, then chunks.
    out = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    for i in range(0, len(data), 32 * 1024):
        block = snappy_literal_block(data[i:i + 32 * 1024])
        out += struct.pack(">i", len(block)) + block
    return out

def lz4_frame_uncompressed(data):
    # LZ4 frame: magic 04224D18, FLG 0x60 (version 1, independent blocks), BD 0x40 (64 KiB), header checksum
    # = second byte of xxh32(FLG,BD); data blocks stored uncompressed (high bit of the size set); end mark 0.
    return bytes.fromhex("04224d18") + bytes([0x60, 0x40, 0x82]) + struct.pack("<I", 0x80000000 | len(data)) + data + b"\x00\x00\x00\x00"

def zstd_raw_frame(data):
    # Zstandard frame: magic 28B52FFD, FHD 0x20 (single segment, 1-byte content size), size, one raw last block.
    assert len(data) < 256
    header = struct.pack("<I", 0xFD2FB528) + bytes([0x20, len(data)])
    block_header = (len(data) << 3) | 0x1  # last block, type raw (0)
    return header + block_header.to_bytes(3, "little") + data

def captures():
    recs = plain_records()
    section = b"".join(recs)
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0) as g:
        g.write(section)
    codecs = {"none": (0, None), "gzip": (1, gz.getvalue()), "snappy": (2, xerial(section)),
              "lz4": (3, lz4_frame_uncompressed(section)), "zstd": (4, zstd_raw_frame(section[:200]) if len(section) < 256 else None)}
    for name, (codec, sec) in codecs.items():
        if name == "zstd":
            small = recs[:1]
            sec = zstd_raw_frame(b"".join(small))
            b = batch(small, attributes=codec, base_ts=T0, max_ts=T0, pid=1000, pepoch=0, seq=0, section=sec)
        else:
            b = batch(recs, attributes=codec, base_ts=T0, max_ts=T0 + 2, pid=1000, pepoch=0, seq=0, section=sec)
        with open(os.path.join(CAPTURES, f"constructed-javaclient-{name}.hex"), "w") as f:
            f.write(f"# Constructed (not captured) from the spec in make_golden.py: Java-client shape, codec {name}.\n")
            f.write(annotate(b, 0) + "\n")

# xxh32 of the two LZ4 descriptor bytes is fixed for FLG=0x60, BD=0x40: (xxh32 >> 8) & 0xFF == 0x82.
golden()
captures()
