using System.Buffers.Binary;
using System.Text.RegularExpressions;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol;
using Samsa.Protocol.Records;
using Samsa.Protocol.TransactionCoordinatorRecords;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// <c>kafka-dump-log.sh</c> on files a broker process wrote (records produced by kcat with each codec, the
/// <c>__consumer_offsets</c> and <c>__cluster_metadata</c> logs) and on a hand-built producer snapshot, compared line
/// by line with Kafka 4.x's <c>DumpLogSegments</c> text (regexes only where the value is a crc or a clock).
/// Also <c>kafka-run-class.sh</c>'s class mapping and the <c>--zookeeper</c> answer every tool shares.
/// </summary>
public class DumpLogToolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static string Segment(BrokerProcess broker, string partitionDirectory, string suffix = ".log") =>
        Path.Combine(broker.Directory, "data", partitionDirectory, "00000000000000000000" + suffix);

    private static async Task KcatProduceAsync(BrokerProcess broker, string topic, string codec, string lines)
    {
        Peers.Require("kcat");
        var produced = await ExternalProcess.RunAsync("kcat", ["-P", "-b", broker.Bootstrap, "-t", topic, "-p", "0", "-z", codec, "-K", ":", "-H", "h1=v1", "-X", "acks=all"], Timeout, lines);
        Assert.True(produced.ExitCode == 0, produced.ToString());
    }

    private static readonly Regex BatchLine = new(
        @"^baseOffset: (?<base>\d+) lastOffset: (?<last>\d+) count: (?<count>\d+) baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 " +
        @"partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: (?<position>\d+) " +
        @"CreateTime: (?<time>\d+) size: (?<size>\d+) magic: 2 compresscodec: (?<codec>[a-z0-9]+) crc: \d+ isvalid: true$");

    /// <summary>
    /// Dumps <paramref name="log"/> with --print-data-log and checks Kafka's lines: one batch line per batch in
    /// <paramref name="codec"/>, positions and offsets adding up, and a record line per value (keys k0.., header h1).
    /// </summary>
    private static async Task<(ProcessResult Dump, string[] Lines)> DumpAndCheckAsync(string log, string codec, string[] values)
    {
        var dump = await Bin("kafka-dump-log.sh", "--files", log, "--print-data-log");
        Assert.True(dump.ExitCode == 0 && dump.Stderr.Length == 0, dump.ToString());
        var lines = dump.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal($"Dumping {log}", lines[0]);
        Assert.Equal("Log starting offset: 0", lines[1]);
        var position = 0L;
        var offset = 0;
        for (var i = 2; i < lines.Length;)
        {
            var batch = BatchLine.Match(lines[i++]);
            Assert.True(batch.Success, $"not a batch line: {lines[i - 1]}\n{dump}");
            Assert.Equal(codec, batch.Groups["codec"].Value);
            Assert.Equal(position, long.Parse(batch.Groups["position"].Value));
            Assert.Equal(offset, int.Parse(batch.Groups["base"].Value));
            position += long.Parse(batch.Groups["size"].Value);
            var count = int.Parse(batch.Groups["count"].Value);
            Assert.Equal(offset + count - 1, int.Parse(batch.Groups["last"].Value));
            for (var r = 0; r < count; r++, offset++)
            {
                Assert.Matches(new Regex(
                    $@"^\| offset: {offset} CreateTime: \d+ keySize: 2 valueSize: {values[offset].Length} sequence: -1 headerKeys: \[h1\] key: k{offset} payload: {values[offset]}$"),
                    lines[i++]);
            }
        }
        Assert.Equal(values.Length, offset);
        Assert.Equal(new FileInfo(log).Length, position);
        return (dump, lines);
    }

    /// <summary>
    /// The codecs kcat 1.7.1 cannot send to Kafka 4.0's API floors (librdkafka#4956, fixed in later librdkafka), written
    /// compressed by the client itself: Confluent.Kafka 2.16 (librdkafka 2.16) produces each codec with the topic at
    /// <c>compression.type=producer</c>, so the segment holds the client's own batches.
    /// </summary>
    [Theory]
    [InlineData("gzip")]
    [InlineData("snappy")]
    [InlineData("lz4")]
    [InlineData("zstd")]
    public async Task DumpLog_ClientCompressedSegment_PrintsKafkasBatchAndRecordLines(string codec)
    {
        await using var broker = await BrokerProcess.StartAsync();
        var topic = "client-" + codec;
        await TopicAdmin.CreateAsync(broker.Port, topic, 1, ("compression.type", "producer"));
        var values = Enumerable.Range(0, 3).Select(i => $"value-{i}-" + new string('y', 200)).ToArray();
        static string B64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));
        var input = string.Concat(values.Select((v, i) =>
            System.Text.Json.JsonSerializer.Serialize(new { key = B64($"k{i}"), value = B64(v), headers = new[] { new[] { "h1", B64("v1") } }, timestamp = (long?)null }) + "\n"));
        var produced = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "produce", broker.Bootstrap, topic, codec, "0"], Timeout, input);
        Assert.True(produced.ExitCode == 0, produced.ToString());
        await DumpAndCheckAsync(Segment(broker, topic + "-0"), codec, values);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("snappy")]
    [InlineData("lz4")]
    [InlineData("zstd")]
    public async Task DumpLog_KcatSegmentWithEachCodec_PrintsKafkasBatchAndRecordLines(string codec)
    {
        await using var broker = await BrokerProcess.StartAsync();
        var topic = "dump-" + codec;
        // kcat 1.7.1 (librdkafka 2.0.2) compresses only with zstd against Kafka 4.0's API floors (it ties gzip,
        // snappy and lz4 to Produce/Fetch versions Kafka 4.0 removed and sends those batches uncompressed), so the
        // topic's compression.type makes the broker write kcat's records in the codec under test.
        await TopicAdmin.CreateAsync(broker.Port, topic, 1, ("compression.type", codec == "none" ? "uncompressed" : codec));
        // Values long enough that every codec shrinks them, so librdkafka keeps the codec on the batch.
        var values = Enumerable.Range(0, 3).Select(i => $"value-{i}-" + new string('x', 200)).ToArray();
        await KcatProduceAsync(broker, topic, codec, string.Concat(values.Select((v, i) => $"k{i}:{v}\n")));

        var log = Segment(broker, topic + "-0");
        var (dump, lines) = await DumpAndCheckAsync(log, codec, values);

        // Shallow iteration prints the batch lines alone; kafka-run-class.sh with Kafka's class names runs the same tool.
        var shallow = await Bin("kafka-run-class.sh", "kafka.tools.DumpLogSegments", "--files", log);
        Assert.True(shallow.ExitCode == 0, shallow.ToString());
        Assert.Equal(lines.Where(l => !l.StartsWith('|')), shallow.Stdout.TrimEnd('\n').Split('\n'));
        var deep = await Bin("kafka-run-class.sh", "org.apache.kafka.tools.DumpLogSegments", "--files", log, "--deep-iteration");
        Assert.Equal(lines.Select(l => Regex.Replace(l, " key: .*$", "")), deep.Stdout.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task DumpLog_IndexAndTimeIndex_PrintEntriesAndReportMismatches()
    {
        // An index entry for every batch, so three one-record batches give three entries.
        await using var broker = await BrokerProcess.StartAsync(new Dictionary<string, string> { ["log.index.interval.bytes"] = "1" });
        await TopicAdmin.CreateAsync(broker.Port, "indexed");
        for (var i = 0; i < 3; i++)
        {
            await KcatProduceAsync(broker, "indexed", "none", $"k{i}:v{i}\n");
            await Task.Delay(20);
        }
        var log = Segment(broker, "indexed-0");
        var batches = (await Bin("kafka-dump-log.sh", "--files", log)).Stdout.Split('\n').Select(l => BatchLine.Match(l)).Where(m => m.Success).ToList();
        Assert.Equal(3, batches.Count);

        var index = Segment(broker, "indexed-0", ".index");
        var dumped = await Bin("kafka-dump-log.sh", "--files", index);
        Assert.True(dumped.ExitCode == 0 && dumped.Stderr.Length == 0, dumped.ToString());
        // As Kafka's LogSegment.append, an entry is added once more than index.interval.bytes were appended since the
        // last one, so the first batch of a segment has none.
        Assert.Equal(
            [$"Dumping {index}", .. batches.Skip(1).Select(b => $"offset: {b.Groups["last"].Value} position: {b.Groups["position"].Value}")],
            dumped.Stdout.TrimEnd('\n').Split('\n'));

        var timeIndex = Segment(broker, "indexed-0", ".timeindex");
        var times = await Bin("kafka-dump-log.sh", "--files", timeIndex);
        Assert.True(times.ExitCode == 0 && times.Stderr.Length == 0, times.ToString());
        Assert.Equal(
            [$"Dumping {timeIndex}", .. batches.Skip(1).Select(b => $"timestamp: {b.Groups["time"].Value} offset: {b.Groups["last"].Value}")],
            times.Stdout.TrimEnd('\n').Split('\n'));

        var sane = await Bin("kafka-dump-log.sh", "--files", index, "--index-sanity-check");
        Assert.Equal($"Dumping {index}\n{index} passed sanity check.\n", sane.Stdout);
        // The active segment's time index is preallocated, so its last slot reads as timestamp 0: Kafka's sanity
        // check (the one a broker runs at startup) calls that corrupt, and so does the tool.
        var firstIndexed = batches[1].Groups["time"].Value;
        var activeTimeIndex = await Bin("kafka-dump-log.sh", "--files", timeIndex, "--index-sanity-check");
        Assert.Equal(1, activeTimeIndex.ExitCode);
        Assert.Equal($"Corrupt time index found, time index file ({timeIndex}) has non-zero size but the last timestamp is 0 which is less than the first entry timestamp {firstIndexed}\n", activeTimeIndex.Stderr);
        var verified = await Bin("kafka-dump-log.sh", "--files", index, "--verify-index-only");
        Assert.Equal($"Dumping {index}\n", verified.Stdout);
        Assert.Equal("", verified.Stderr);

        // A copy of the segment whose index says offset 5 is at position 0 (where offset 0's batch is).
        var copy = Directory.CreateTempSubdirectory("samsa-dump-").FullName;
        try
        {
            File.Copy(log, Path.Combine(copy, "00000000000000000000.log"));
            var badIndex = Path.Combine(copy, "00000000000000000000.index");
            var entry = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(entry, 5);
            await File.WriteAllBytesAsync(badIndex, entry);
            var mismatch = await Bin("kafka-dump-log.sh", "--files", badIndex);
            Assert.Equal($"Dumping {badIndex}\noffset: 5 position: 0\n", mismatch.Stdout);
            Assert.Equal($"Mismatches in :{badIndex}\n  Index offset: 5, log offset: 0\n", mismatch.Stderr);

            // A time index saying offset 0 has timestamp 5: Kafka's timestamp mismatch report.
            var badTimeIndex = Path.Combine(copy, "00000000000000000000.timeindex");
            var timeEntry = new byte[12];
            BinaryPrimitives.WriteInt64BigEndian(timeEntry, 5);
            await File.WriteAllBytesAsync(badTimeIndex, timeEntry);
            var timeMismatch = await Bin("kafka-dump-log.sh", "--files", badTimeIndex);
            Assert.Equal($"Dumping {badTimeIndex}\ntimestamp: 5 offset: 0\n", timeMismatch.Stdout);
            Assert.Equal($"Found timestamp mismatch in :{badTimeIndex}\n  Index timestamp: 5, log timestamp: {batches[0].Groups["time"].Value}\n", timeMismatch.Stderr);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public async Task DumpLog_OffsetsDecoderAndClusterMetadataDecoder_PrintKafkasJson()
    {
        await using var broker = await BrokerProcess.StartAsync();
        var create = await Bin("kafka-topics.sh", "--bootstrap-server", broker.Bootstrap, "--create", "--topic", "committed", "--partitions", "2");
        Assert.True(create.ExitCode == 0, create.ToString());
        await KcatProduceAsync(broker, "committed", "none", "a:1\nb:2\nc:3\n");
        // The offsets partition may still be loading on the first try, as with Kafka (the tool prints the error and
        // does not retry).
        ProcessResult reset;
        var deadline = DateTime.UtcNow + Timeout;
        do
        {
            reset = await Bin("kafka-consumer-groups.sh", "--bootstrap-server", broker.Bootstrap, "--group", "g1", "--topic", "committed:0", "--reset-offsets", "--to-offset", "2", "--execute");
        }
        while (reset.ToString().Contains("CoordinatorLoadInProgress") && DateTime.UtcNow < deadline);
        Assert.True(reset.ExitCode == 0 && reset.Stdout.Contains("g1              committed       0          2"), reset.ToString());

        // A classic group member (librdkafka, protocol type "consumer") so a GroupMetadata record is written too.
        var consumer = await Bin("kafka-console-consumer.sh", "--bootstrap-server", broker.Bootstrap, "--topic", "committed", "--group", "g2", "--from-beginning", "--max-messages", "3");
        Assert.True(consumer.ExitCode == 0, consumer.ToString());

        var offsetsOutput = "";
        for (var attempt = 0; attempt < 100 && !(offsetsOutput.Contains("\"g1\"") && offsetsOutput.Contains("\"g2\"")); attempt++, await Task.Delay(100))
        {
            var logs = Directory.GetDirectories(Path.Combine(broker.Directory, "data"), "__consumer_offsets-*")
                .Select(d => Path.Combine(d, "00000000000000000000.log"))
                .Where(f => File.Exists(f) && new FileInfo(f).Length > 0)
                .ToList();
            if (logs.Count > 0)
            {
                var offsets = await Bin("kafka-dump-log.sh", "--files", string.Join(",", logs), "--offsets-decoder");
                Assert.True(offsets.ExitCode == 0, offsets.ToString());
                offsetsOutput = offsets.Stdout;
            }
        }
        var offsetLines = offsetsOutput.Split('\n');
        Assert.Contains(offsetLines, l => Regex.IsMatch(l,
            """^\| offset: \d+ CreateTime: \d+ keySize: 21 valueSize: 24 sequence: -1 headerKeys: \[\] key: \{"type":"1","data":\{"group":"g1","topic":"committed","partition":0\}\} payload: \{"version":"3","data":\{"offset":2,"leaderEpoch":-1,"metadata":"","commitTimestamp":\d+\}\}$"""));
        // The member's subscription and assignment bytes print decoded, as Kafka does for protocol type "consumer".
        Assert.Contains(offsetLines, l => Regex.IsMatch(l,
            """^\| offset: \d+ CreateTime: \d+ keySize: 6 valueSize: \d+ sequence: -1 headerKeys: \[\] key: \{"type":"2","data":\{"group":"g2"\}\} payload: \{"version":"3","data":\{"protocolType":"consumer","generation":1,"protocol":"range","leader":"(?<member>[^"]+)","currentStateTimestamp":\d+,"members":\[\{"memberId":"\k<member>","groupInstanceId":null,"clientId":"console-consumer","clientHost":"/127.0.0.1","rebalanceTimeout":\d+,"sessionTimeout":\d+,"subscription":\{"topics":\["committed"\],.*"assignment":\{"assignedPartitions":\[\{"topic":"committed","partitions":\[0,1\]\}\],"userData":""\}\}\]\}\}$"""));

        var metadataLog = Segment(broker, "__cluster_metadata-0");
        var metadata = await Bin("kafka-dump-log.sh", "--files", metadataLog, "--cluster-metadata-decoder");
        Assert.True(metadata.ExitCode == 0, metadata.ToString());
        var topicLine = Assert.Single(metadata.Stdout.Split('\n'), l => l.Contains("\"TOPIC_RECORD\"") && l.Contains("\"committed\""));
        var topic = Regex.Match(topicLine,
            """^\| offset: \d+ CreateTime: \d+ keySize: -1 valueSize: \d+ sequence: -1 headerKeys: \[\] payload: \{"type":"TOPIC_RECORD","version":0,"data":\{"name":"committed","topicId":"(?<id>[A-Za-z0-9_-]{22})"\}\}$""");
        Assert.True(topic.Success, topicLine);
        var partitions = metadata.Stdout.Split('\n').Where(l => l.Contains("\"PARTITION_RECORD\"") && l.Contains(topic.Groups["id"].Value)).ToList();
        Assert.Equal(2, partitions.Count);
        Assert.Matches(new Regex($$"""payload: \{"type":"PARTITION_RECORD","version":\d,"data":\{"partitionId":0,"topicId":"{{topic.Groups["id"].Value}}","replicas":\[1\],"isr":\[1\],"removingReplicas":\[\],"addingReplicas":\[\],"leader":1,"leaderEpoch":0,"partitionEpoch":0"""), partitions[0]);
    }

    /// <summary>
    /// Kafka's producer state snapshot, built byte by byte from <c>ProducerStateManager</c>'s schema: version 1, a CRC-32C
    /// of everything after it, two entries (one in a transaction).
    /// </summary>
    [Fact]
    public async Task DumpLog_ProducerSnapshotGoldenFile_PrintsKafkasEntryLines()
    {
        var entries = new (long Pid, short Epoch, int LastSeq, long LastOffset, int OffsetDelta, long Timestamp, int CoordinatorEpoch, long TxnFirst)[]
        {
            (1000, 2, 9, 9, 4, 1700000000000, -1, -1),
            (1001, 0, 2, 12, 2, 1700000000500, 3, 10),
        };
        var bytes = new byte[6 + 4 + (entries.Length * 46)];
        BinaryPrimitives.WriteInt16BigEndian(bytes, 1);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(6), entries.Length);
        for (var i = 0; i < entries.Length; i++)
        {
            var e = bytes.AsSpan(10 + (i * 46));
            BinaryPrimitives.WriteInt64BigEndian(e, entries[i].Pid);
            BinaryPrimitives.WriteInt16BigEndian(e[8..], entries[i].Epoch);
            BinaryPrimitives.WriteInt32BigEndian(e[10..], entries[i].LastSeq);
            BinaryPrimitives.WriteInt64BigEndian(e[14..], entries[i].LastOffset);
            BinaryPrimitives.WriteInt32BigEndian(e[22..], entries[i].OffsetDelta);
            BinaryPrimitives.WriteInt64BigEndian(e[26..], entries[i].Timestamp);
            BinaryPrimitives.WriteInt32BigEndian(e[34..], entries[i].CoordinatorEpoch);
            BinaryPrimitives.WriteInt64BigEndian(e[38..], entries[i].TxnFirst);
        }
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(2), Crc32C.Compute(bytes.AsSpan(6)));
        var directory = Directory.CreateTempSubdirectory("samsa-dump-").FullName;
        try
        {
            var snapshot = Path.Combine(directory, "00000000000000000013.snapshot");
            await File.WriteAllBytesAsync(snapshot, bytes);
            var dump = await Bin("kafka-dump-log.sh", "--files", snapshot);
            Assert.True(dump.ExitCode == 0 && dump.Stderr.Length == 0, dump.ToString());
            Assert.Equal(
                $"Dumping {snapshot}\n" +
                "producerId: 1000 producerEpoch: 2 coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: 1700000000000 firstSequence: 5 lastSequence: 9 lastOffset: 9 offsetDelta: 4 timestamp: 1700000000000\n" +
                "producerId: 1001 producerEpoch: 0 coordinatorEpoch: 3 currentTxnFirstOffset: OptionalLong[10] lastTimestamp: 1700000000500 firstSequence: 0 lastSequence: 2 lastOffset: 12 offsetDelta: 2 timestamp: 1700000000500\n",
                dump.Stdout);

            var stored = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(2));
            bytes[^1] ^= 1;
            await File.WriteAllBytesAsync(snapshot, bytes);
            var corrupt = await Bin("kafka-dump-log.sh", "--files", snapshot);
            Assert.Equal(0, corrupt.ExitCode);
            Assert.Equal($"Snapshot is corrupt (CRC is no longer valid). Stored crc: {stored}. Computed crc: {Crc32C.Compute(bytes.AsSpan(6))}\n", corrupt.Stderr);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task DumpLog_MetadataSnapshot_PrintsSnapshotEndOffsetAndRecords()
    {
        // A snapshot after every commit, so creating a topic leaves one.
        await using var broker = await BrokerProcess.StartAsync(new Dictionary<string, string> { ["metadata.log.max.record.bytes.between.snapshots"] = "1" });
        await TopicAdmin.CreateAsync(broker.Port, "snapped", 1);
        var directory = Path.Combine(broker.Directory, "data", "__cluster_metadata-0");
        string? snapshot = null;
        for (var attempt = 0; attempt < 100; attempt++, await Task.Delay(100))
        {
            snapshot = Directory.GetFiles(directory, "*.checkpoint").OrderBy(f => f, StringComparer.Ordinal).LastOrDefault();
            if (snapshot is not null && (await Bin("kafka-dump-log.sh", "--files", snapshot, "--cluster-metadata-decoder")).Stdout.Contains("\"snapped\""))
            {
                break;
            }
        }
        Assert.NotNull(snapshot);
        var dump = await Bin("kafka-dump-log.sh", "--files", snapshot, "--cluster-metadata-decoder");
        Assert.True(dump.ExitCode == 0 && dump.Stderr.Length == 0, dump.ToString());
        var lines = dump.Stdout.Split('\n');
        var name = Path.GetFileName(snapshot);
        Assert.Equal($"Dumping {snapshot}", lines[0]);
        Assert.Equal($"Snapshot end offset: {long.Parse(name[..20])}, epoch: {int.Parse(name[21..31])}", lines[1]);
        // Kafka writes snapshot batches with the snapshot's epoch; either way the line has the segment batch form.
        Assert.Matches(BatchLine, lines[2].Replace("partitionLeaderEpoch: -1", "partitionLeaderEpoch: 0"));
        Assert.Contains(lines, l => Regex.IsMatch(l, """^\| offset: \d+ CreateTime: \d+ keySize: -1 valueSize: \d+ sequence: -1 headerKeys: \[\] payload: \{"type":"TOPIC_RECORD","version":0,"data":\{"name":"snapped","topicId":"[A-Za-z0-9_-]{22}"\}\}$"""));
    }

    /// <summary>
    /// A hand-built <c>__transaction_state</c> segment (no transaction coordinator yet): a TransactionLogValue v1 with a
    /// tagged field, a tombstone and a COMMIT marker batch, written with the generated record classes.
    /// </summary>
    [Fact]
    public async Task DumpLog_TransactionLogDecoderAndControlBatch_PrintKafkasLines()
    {
        const long T = 1_700_000_000_000;
        static byte[] Versioned(short version, IProtocolMessage message, short messageVersion)
        {
            var bytes = new byte[2 + message.Size(messageVersion)];
            BinaryPrimitives.WriteInt16BigEndian(bytes, version);
            var writer = new ProtocolWriter(bytes.AsSpan(2));
            message.Write(ref writer, messageVersion);
            return bytes;
        }
        var value = new TransactionLogValue
        {
            ProducerId = 7,
            PreviousProducerId = 5,
            ProducerEpoch = 1,
            TransactionTimeoutMs = 60000,
            TransactionStatus = 2,
            TransactionPartitions = [new() { Topic = "t", PartitionIds = [0, 1] }],
            TransactionLastUpdateTimestampMs = T + 1,
            TransactionStartTimestampMs = T,
        };
        var segment = new List<byte>();
        using (var live = new RecordBatchBuilder { BaseOffset = 0, PartitionLeaderEpoch = 0 })
        {
            live.Append(T, Versioned(0, new TransactionLogKey { TransactionalId = "txn-1" }, 0), Versioned(1, value, 1));
            segment.AddRange(live.Build());
        }
        using (var tombstone = new RecordBatchBuilder { BaseOffset = 1, PartitionLeaderEpoch = 0 })
        {
            tombstone.Append(T, Versioned(0, new TransactionLogKey { TransactionalId = "txn-2" }, 0), null);
            segment.AddRange(tombstone.Build());
        }
        var marker = RecordBatchBuilder.EndTransactionMarker(ControlRecordType.Commit, 7, 1, 4, T + 2);
        RecordBatch.SetBaseOffsetAndEpoch(marker, 2, 0);
        segment.AddRange(marker);

        var directory = Directory.CreateTempSubdirectory("samsa-dump-").FullName;
        try
        {
            var log = Path.Combine(directory, "00000000000000000000.log");
            await File.WriteAllBytesAsync(log, [.. segment]);
            var dump = await Bin("kafka-dump-log.sh", "--files", log, "--transaction-log-decoder");
            Assert.True(dump.ExitCode == 0 && dump.Stderr.Length == 0, dump.ToString());
            var lines = dump.Stdout.TrimEnd('\n').Split('\n');
            Assert.Equal(8, lines.Length);
            Assert.Equal(
                """| offset: 0 CreateTime: 1700000000000 keySize: 9 valueSize: 57 sequence: -1 headerKeys: [] key: {"type":"0","data":{"transactionalId":"txn-1"}} payload: {"version":"1","data":{"producerId":7,"previousProducerId":5,"producerEpoch":1,"transactionTimeoutMs":60000,"transactionStatus":2,"transactionPartitions":[{"topic":"t","partitionIds":[0,1]}],"transactionLastUpdateTimestampMs":1700000000001,"transactionStartTimestampMs":1700000000000}}""",
                lines[3]);
            Assert.Equal("""| offset: 1 CreateTime: 1700000000000 keySize: 9 valueSize: -1 sequence: -1 headerKeys: [] key: {"type":"0","data":{"transactionalId":"txn-2"}} payload: <DELETE>""", lines[5]);
            Assert.Matches(new Regex(@"^baseOffset: 2 lastOffset: 2 count: 1 baseSequence: -1 lastSequence: -1 producerId: 7 producerEpoch: 1 partitionLeaderEpoch: 0 isTransactional: true isControl: true deleteHorizonMs: OptionalLong.empty position: \d+ CreateTime: 1700000000002 size: \d+ magic: 2 compresscodec: none crc: \d+ isvalid: true$"), lines[6]);
            Assert.Equal("| offset: 2 CreateTime: 1700000000002 keySize: 4 valueSize: 6 sequence: -1 headerKeys: [] endTxnMarker: COMMIT coordinatorEpoch: 4", lines[7]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task RunClassUnknownClassAndUnknownOrZooKeeperFlags_AnswerAsKafka4()
    {
        var unknown = await Bin("kafka-run-class.sh", "kafka.tools.MirrorMaker", "--help");
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith("Error: Could not find or load main class kafka.tools.MirrorMaker\n", unknown.Stderr);

        foreach (var (script, args) in new[] { ("kafka-topics.sh", new[] { "--list" }), ("kafka-configs.sh", ["--describe", "--entity-type", "topics"]), ("kafka-consumer-groups.sh", ["--list"]) })
        {
            var zk = await Bin(script, ["--zookeeper", "localhost:2181", .. args]);
            Assert.Equal(1, zk.ExitCode);
            Assert.Equal("zookeeper is not a recognized option\n", zk.Stderr);
        }
        // Any other option a tool does not have gets the same joptsimple answer, GetOffsetShell's with its prefix.
        var misspelt = await Bin("kafka-topics.sh", "--bootstrap-server", "localhost:9092", "--list", "--exclude-internals");
        Assert.Equal((1, "exclude-internals is not a recognized option\n"), (misspelt.ExitCode, misspelt.Stderr));
        var offsets = await Bin("kafka-get-offsets.sh", "--bootstrap-server", "localhost:9092", "--topics=x");
        Assert.Equal((1, "Error occurred: topics is not a recognized option\n"), (offsets.ExitCode, offsets.Stderr));
        var remote = await Bin("kafka-dump-log.sh", "--files", "00000000000000000000.log", "--remote-log-metadata-decoder");
        Assert.Equal(1, remote.ExitCode);
        Assert.Contains("--remote-log-metadata-decoder is not supported", remote.Stderr);
    }
}
