using System.Buffers.Binary;
using System.Diagnostics;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Broker.Tests.Replication;

/// <summary>Produce and Fetch against an in-process broker, with hand-built requests over real sockets.</summary>
public class ProduceFetchTests
{
    private const short ProduceVersion = 9;
    private const short FetchVersion = 12;

    private static byte[] Batch(params string[] values)
    {
        using var builder = new RecordBatchBuilder();
        foreach (var v in values)
        {
            builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, System.Text.Encoding.UTF8.GetBytes(v));
        }
        return builder.Build();
    }

    /// <summary>Creates a topic and waits until this broker has opened its partition logs (done off the controller path, as in Kafka).</summary>
    internal static async Task CreateTopic(TestBroker broker, TestClient client, string name, int partitions = 1, params (string Key, string Value)[] configs)
    {
        var request = new CreateTopicsRequest
        {
            timeoutMs = 10000,
            Topics = [new() { Name = name, NumPartitions = partitions, ReplicationFactor = 1, Configs = [.. configs.Select(c => new CreateTopicsRequest.CreatableTopicConfig { Name = c.Key, Value = c.Value })] }],
        };
        var (_, response) = await client.RequestAsync<CreateTopicsResponse>(request, 7);
        Assert.Equal(0, response.Topics[0].ErrorCode);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Enumerable.Range(0, partitions).Any(p => broker.Broker.Logs.Get(name, p) is null))
        {
            Assert.True(DateTime.UtcNow < deadline, $"partition logs of {name} were not opened");
            await Task.Delay(10);
        }
    }

    internal static ProduceRequest Produce(string topic, int partition, byte[] records, short acks = -1) => new()
    {
        Acks = acks,
        TimeoutMs = 5000,
        TopicData = [new() { Name = topic, PartitionData = [new() { Index = partition, Records = records }] }],
    };

    internal static FetchRequest Fetch(string topic, long offset, int maxWaitMs = 0, int minBytes = 1, int sessionId = 0, int sessionEpoch = -1) => new()
    {
        MaxWaitMs = maxWaitMs,
        MinBytes = minBytes,
        MaxBytes = 50 * 1024 * 1024,
        SessionId = sessionId,
        SessionEpoch = sessionEpoch,
        Topics = [new() { Topic = topic, Partitions = [new() { Partition = 0, FetchOffset = offset, PartitionMaxBytes = 1024 * 1024 }] }],
    };

    private static ProduceResponse.PartitionProduceResponse Only(ProduceResponse r) => Assert.Single(Assert.Single(r.Responses).PartitionResponses);

    private static FetchResponse.PartitionData Only(FetchResponse r) => Assert.Single(Assert.Single(r.Responses).Partitions);

    [Fact]
    public async Task ProducedBatch_IsFetchedByteForByte_ExceptBaseOffsetAndLeaderEpoch()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "orders");
        var first = Batch("a", "b");
        var second = Batch("c");
        Assert.Equal(0, Only((await client.RequestAsync<ProduceResponse>(Produce("orders", 0, (byte[])first.Clone()), ProduceVersion)).Body).BaseOffset);
        var answer = Only((await client.RequestAsync<ProduceResponse>(Produce("orders", 0, (byte[])second.Clone()), ProduceVersion)).Body);
        Assert.Equal(0, answer.ErrorCode);
        Assert.Equal(2, answer.BaseOffset);

        var fetched = Only((await client.RequestAsync<FetchResponse>(Fetch("orders", 0), FetchVersion)).Body);
        Assert.Equal(0, fetched.ErrorCode);
        Assert.Equal(3, fetched.HighWatermark);
        var records = fetched.Records!.Value.ToArray();
        Assert.Equal(first.Length + second.Length, records.Length);
        // Base offset (bytes 0-7) and partition leader epoch (12-15) are assigned by the broker; the CRC covers
        // neither, so everything else must be the producer's bytes.
        Assert.Equal(2, BinaryPrimitives.ReadInt64BigEndian(records.AsSpan(first.Length)));
        Assert.Equal(first.AsSpan(16).ToArray(), records.AsSpan(16, first.Length - 16).ToArray());
        Assert.Equal(second.AsSpan(16).ToArray(), records.AsSpan(first.Length + 16).ToArray());
    }

    [Theory]
    [InlineData(4)]
    [InlineData(12)]
    public async Task Fetch_OfSeveralPartitions_SendsEachFileRegionBetweenTheFramePieces(short version)
    {
        // Records go out with sendfile between the written pieces of the frame: every partition's fields after its
        // records, the next partition and the next response on the connection must still line up.
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "spread", partitions: 3);
        var sent = new byte[3][];
        for (var p = 0; p < 3; p++)
        {
            sent[p] = Batch([.. Enumerable.Range(0, 50 * (p + 1)).Select(i => $"partition {p} record {i}")]);
            Assert.Equal(0, Only((await client.RequestAsync<ProduceResponse>(Produce("spread", p, (byte[])sent[p].Clone()), ProduceVersion)).Body).ErrorCode);
        }
        var request = Fetch("spread", 0);
        request.Topics[0].Partitions = [.. Enumerable.Range(0, 3).Select(p => new FetchRequest.FetchPartition { Partition = p, FetchOffset = 0, PartitionMaxBytes = 1024 * 1024 })];

        for (var round = 0; round < 2; round++)
        {
            var response = (await client.RequestAsync<FetchResponse>(request, version)).Body;
            var partitions = Assert.Single(response.Responses).Partitions;
            Assert.Equal([0, 1, 2], partitions.Select(p => p.PartitionIndex));
            for (var p = 0; p < 3; p++)
            {
                Assert.Equal(0, partitions[p].ErrorCode);
                Assert.Equal(50 * (p + 1), partitions[p].HighWatermark);
                var records = partitions[p].Records!.Value.ToArray();
                Assert.Equal(sent[p].AsSpan(16).ToArray(), records.AsSpan(16).ToArray());
            }
        }
        var (_, offsets) = await client.RequestAsync<ListOffsetsResponse>(new ListOffsetsRequest { Topics = [new() { Name = "spread", Partitions = [new() { PartitionIndex = 2, Timestamp = -1 }] }] }, 8);
        Assert.Equal(150, offsets.Topics[0].Partitions[0].Offset);
    }

    [Fact]
    public async Task Produce_Errors_AreKafkasCodes_AndLeaveTheLogUnchanged()
    {
        await using var broker = await TestBroker.StartAsync(("auto.create.topics.enable", "false"));
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "strict", 1, ("max.message.bytes", "1000"));
        Assert.Equal(0, Only((await client.RequestAsync<ProduceResponse>(Produce("strict", 0, Batch("ok")), ProduceVersion)).Body).ErrorCode);

        var corrupt = Batch("x");
        corrupt[^1] ^= 0xFF; // the CRC no longer matches
        Assert.Equal((short)ErrorCode.CorruptMessage, Only((await client.RequestAsync<ProduceResponse>(Produce("strict", 0, corrupt), ProduceVersion)).Body).ErrorCode);
        Assert.Equal((short)ErrorCode.MessageTooLarge, Only((await client.RequestAsync<ProduceResponse>(Produce("strict", 0, Batch(new string('z', 2000))), ProduceVersion)).Body).ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, Only((await client.RequestAsync<ProduceResponse>(Produce("strict", 7, Batch("x")), ProduceVersion)).Body).ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, Only((await client.RequestAsync<ProduceResponse>(Produce("missing", 0, Batch("x")), ProduceVersion)).Body).ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidRequiredAcks, Only((await client.RequestAsync<ProduceResponse>(Produce("strict", 0, Batch("x"), acks: 2), ProduceVersion)).Body).ErrorCode);

        var log = broker.Broker.Logs.Get("strict", 0)!;
        Assert.Equal(1, log.LogEndOffset);
        Assert.Equal(1, Only((await client.RequestAsync<FetchResponse>(Fetch("strict", 0), FetchVersion)).Body).HighWatermark);
    }

    /// <summary>A legacy (magic 0 or 1) message set of one message: offset, size, crc, magic, attributes, [timestamp], key, value.</summary>
    private static byte[] LegacyMessageSet(byte magic, int valueLength)
    {
        var message = new List<byte>();
        message.AddRange(new byte[4]); // crc: Kafka refuses the magic before it looks at the CRC
        message.Add(magic);
        message.Add(0);
        if (magic == 1)
        {
            message.AddRange(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())));
        }
        message.AddRange(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(-1))); // null key
        message.AddRange(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(valueLength)));
        message.AddRange(Enumerable.Repeat((byte)'v', valueLength));
        var set = new byte[12 + message.Count];
        BinaryPrimitives.WriteInt32BigEndian(set.AsSpan(8), message.Count);
        message.CopyTo(set, 12);
        return set;
    }

    [Fact]
    public async Task Produce_RecordSetsKafkaRefusesBeforeTheLog_AreInvalidRecordOrCorruptMessage_AsKafka()
    {
        await using var broker = await TestBroker.StartAsync(("auto.create.topics.enable", "false"));
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "framing");
        async Task<ProduceResponse.PartitionProduceResponse> Send(byte[] records, short version = ProduceVersion) =>
            Only((await client.RequestAsync<ProduceResponse>(Produce("framing", 0, records), version)).Body);

        // Magic 0 and 1 message sets, shorter than a v2 batch header (61 bytes) and longer: INVALID_RECORD, as Kafka's
        // ProduceRequest.validateRecords answers v3+ requests (it used to be CORRUPT_MESSAGE below 61 bytes).
        foreach (var (magic, valueLength) in new[] { ((byte)0, 1), ((byte)1, 1), ((byte)0, 100), ((byte)1, 100) })
        {
            var legacy = LegacyMessageSet(magic, valueLength);
            var answer = await Send(legacy);
            Assert.True((short)ErrorCode.InvalidRecord == answer.ErrorCode, $"magic {magic}, {legacy.Length} bytes: error {answer.ErrorCode}");
            Assert.Equal("Produce requests with version 9 are only allowed to contain record batches with magic version 2", answer.ErrorMessage);
        }
        // Too few bytes to frame any batch (a size field, or the magic, or the declared size missing): INVALID_RECORD.
        Assert.Equal((short)ErrorCode.InvalidRecord, (await Send(new byte[5])).ErrorCode);
        var truncated = Batch("whole");
        Assert.Equal((short)ErrorCode.InvalidRecord, (await Send(truncated[..15])).ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidRecord, (await Send(truncated[..^1])).ErrorCode);
        // A size below the smallest legacy record, or an unknown magic: CORRUPT_MESSAGE.
        var tiny = new byte[20];
        BinaryPrimitives.WriteInt32BigEndian(tiny.AsSpan(8), 8);
        Assert.Equal((short)ErrorCode.CorruptMessage, (await Send(tiny)).ErrorCode);
        var magic7 = Batch("m");
        magic7[RecordBatch.MagicOffset] = 7;
        Assert.Equal((short)ErrorCode.CorruptMessage, (await Send(magic7)).ErrorCode);
        // A magic 2 batch shorter than its header is corrupt (Kafka's DefaultRecordBatch.ensureValid).
        var shortV2 = new byte[40];
        BinaryPrimitives.WriteInt32BigEndian(shortV2.AsSpan(8), 28);
        shortV2[RecordBatch.MagicOffset] = 2;
        Assert.Equal((short)ErrorCode.CorruptMessage, (await Send(shortV2)).ErrorCode);
        // Exactly one batch per partition.
        var two = Batch("a").Concat(Batch("b")).ToArray();
        var refusedTwo = await Send(two);
        Assert.Equal((short)ErrorCode.InvalidRecord, refusedTwo.ErrorCode);
        Assert.Equal("Produce requests with version 9 are only allowed to contain exactly one record batch per partition", refusedTwo.ErrorMessage);
        // zstd needs Produce v7.
        byte[] zstd;
        using (var builder = new RecordBatchBuilder { Compression = CompressionType.Zstd })
        {
            builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, "z"u8.ToArray());
            zstd = builder.Build();
        }
        Assert.Equal((short)ErrorCode.UnsupportedCompressionType, (await Send(zstd, 6)).ErrorCode);
        Assert.Equal(0, broker.Broker.Logs.Get("framing", 0)!.LogEndOffset);

        // Bytes after the batch that frame no further batch are dropped, as Kafka trims them; the batch is appended.
        var trailing = Batch("kept").Concat(new byte[] { 1, 2, 3 }).ToArray();
        Assert.Equal(0, (await Send(trailing)).ErrorCode);
        Assert.Equal(0, (await Send(zstd, 7)).ErrorCode);
        Assert.Equal(2, broker.Broker.Logs.Get("framing", 0)!.LogEndOffset);
    }

    [Fact]
    public async Task Produce_BadRecords_AreInvalidRecordOrTimestamp_WithRecordErrors_AndTheLogUnchanged()
    {
        await using var broker = await TestBroker.StartAsync(("auto.create.topics.enable", "false"));
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "compacted", 1, ("cleanup.policy", "compact"));
        await CreateTopic(broker, client, "timely", 1, ("message.timestamp.after.max.ms", "60000"));
        await CreateTopic(broker, client, "small-segments", 1, ("segment.bytes", "1048576"), ("max.message.bytes", "4000000"));
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        byte[] nullKeys;
        using (var builder = new RecordBatchBuilder())
        {
            builder.Append(now, "k"u8.ToArray(), "a"u8.ToArray());
            builder.Append(now, null, "b"u8.ToArray());
            builder.Append(now, "k"u8.ToArray(), "c"u8.ToArray());
            builder.Append(now, null, "d"u8.ToArray());
            nullKeys = builder.Build();
        }
        var compacted = Only((await client.RequestAsync<ProduceResponse>(Produce("compacted", 0, nullKeys), ProduceVersion)).Body);
        Assert.Equal((short)ErrorCode.InvalidRecord, compacted.ErrorCode);
        Assert.Equal([1, 3], compacted.RecordErrors.Select(e => e.BatchIndex));
        Assert.All(compacted.RecordErrors, e => Assert.Equal("Compacted topic cannot accept message without key.", e.BatchIndexErrorMessage));
        Assert.StartsWith("One or more records have been rejected due to 2 record errors in total", compacted.ErrorMessage);

        byte[] future;
        using (var builder = new RecordBatchBuilder())
        {
            builder.Append(now, null, "ok"u8.ToArray());
            builder.Append(now + 3_600_000, null, "late"u8.ToArray());
            future = builder.Build();
        }
        var timely = Only((await client.RequestAsync<ProduceResponse>(Produce("timely", 0, future), ProduceVersion)).Body);
        Assert.Equal((short)ErrorCode.InvalidTimestamp, timely.ErrorCode);
        var error = Assert.Single(timely.RecordErrors);
        Assert.Equal(1, error.BatchIndex);
        Assert.StartsWith($"Timestamp {now + 3_600_000} of message with offset 1 is out of range.", error.BatchIndexErrorMessage);

        // A record set larger than a whole segment can never be appended: RECORD_LIST_TOO_LARGE.
        var huge = Only((await client.RequestAsync<ProduceResponse>(Produce("small-segments", 0, Batch(new string('z', 1_100_000))), ProduceVersion)).Body);
        Assert.Equal((short)ErrorCode.RecordListTooLarge, huge.ErrorCode);

        foreach (var topic in new[] { "compacted", "timely", "small-segments" })
        {
            Assert.Equal(0, broker.Broker.Logs.Get(topic, 0)!.LogEndOffset);
        }
    }

    [Fact]
    public async Task ListOffsets_SpecialTimestampsAndTimestampLookup_ReturnOffsetsWithLeaderEpoch()
    {
        await using var broker = await TestBroker.StartAsync(("auto.create.topics.enable", "false"));
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "offsets");
        const long t0 = 1_700_000_000_000;
        foreach (var ts in new[] { t0 + 5, t0 + 50, t0 + 10 })
        {
            using var builder = new RecordBatchBuilder();
            builder.Append(ts, null, "v"u8.ToArray());
            Assert.Equal(0, Only((await client.RequestAsync<ProduceResponse>(Produce("offsets", 0, builder.Build()), ProduceVersion)).Body).ErrorCode);
        }
        async Task<(long Timestamp, long Offset, int Epoch)> List(long timestamp)
        {
            var (_, response) = await client.RequestAsync<ListOffsetsResponse>(new ListOffsetsRequest
            {
                ReplicaId = -1,
                Topics = [new() { Name = "offsets", Partitions = [new() { PartitionIndex = 0, Timestamp = timestamp, CurrentLeaderEpoch = 0 }] }],
            }, 9);
            var p = Assert.Single(Assert.Single(response.Topics).Partitions);
            Assert.Equal(0, p.ErrorCode);
            return (p.Timestamp, p.Offset, p.LeaderEpoch);
        }
        Assert.Equal((-1L, 3L, 0), await List(-1));          // latest
        Assert.Equal((-1L, 0L, 0), await List(-2));          // earliest
        Assert.Equal((t0 + 50, 1L, 0), await List(-3));      // max timestamp
        Assert.Equal((-1L, 0L, 0), await List(-4));          // earliest local
        Assert.Equal((t0 + 50, 1L, 0), await List(t0 + 6));  // first offset whose timestamp is >= t0+6
        Assert.Equal((-1L, -1L, -1), await List(t0 + 51));   // none
    }

    [Fact]
    public async Task AcksZero_SendsNoResponse_AndTheNextRequestIsAnsweredInOrder()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "fire");
        await client.SendRawAsync(TestClient.EncodeRequest(Produce("fire", 0, Batch("a"), acks: 0), ProduceVersion, 10));
        var (correlation, fetched) = await client.RequestAsync<FetchResponse>(Fetch("fire", 0), FetchVersion, 11);
        Assert.Equal(11, correlation);
        Assert.Equal(1, Only(fetched).HighWatermark);
    }

    [Fact]
    public async Task Fetch_BeyondTheLog_IsOffsetOutOfRange()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "short");
        var data = Only((await client.RequestAsync<FetchResponse>(Fetch("short", 5), FetchVersion)).Body);
        Assert.Equal((short)ErrorCode.OffsetOutOfRange, data.ErrorCode);
    }

    [Fact]
    public async Task LongPoll_IsAnsweredByTheAppend_AndOtherwiseAtMaxWait()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var producer = await broker.ConnectAsync();
        await CreateTopic(broker, producer, "poll");
        await using var consumer = await broker.ConnectAsync();

        var lags = new List<double>();
        for (var round = 0; round < 20; round++)
        {
            var fetch = consumer.RequestAsync<FetchResponse>(Fetch("poll", round, maxWaitMs: 5000), FetchVersion, round);
            await Task.Delay(30);
            var produced = Stopwatch.StartNew();
            await producer.RequestAsync<ProduceResponse>(Produce("poll", 0, Batch($"m{round}")), ProduceVersion, round);
            var (_, response) = await fetch;
            lags.Add(produced.Elapsed.TotalMilliseconds);
            Assert.Equal(round + 1, Only(response).HighWatermark);
            Assert.True(Only(response).Records!.Value.Length > 0);
        }
        lags.Sort();
        var median = (lags[9] + lags[10]) / 2;
        Assert.True(median < 50, $"median {median:F1} ms from produce to fetch answer; all: {string.Join(", ", lags.Select(l => l.ToString("F1")))}");

        var idle = Stopwatch.StartNew();
        var (_, empty) = await consumer.RequestAsync<FetchResponse>(Fetch("poll", 20, maxWaitMs: 5000), FetchVersion, 99);
        Assert.Empty(Only(empty).Records!.Value.ToArray());
        Assert.InRange(idle.Elapsed.TotalSeconds, 4.9, 6.5);
    }

    [Fact]
    public async Task FetchSession_FullThenIncremental_ForgetsAndClosesAsKip227Says()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "s1");
        await CreateTopic(broker, client, "s2");
        await client.RequestAsync<ProduceResponse>(Produce("s1", 0, Batch("one")), ProduceVersion);

        var full = new FetchRequest
        {
            MaxBytes = 1 << 20,
            SessionId = 0,
            SessionEpoch = 0,
            Topics = [new() { Topic = "s1", Partitions = [new() { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] },
                      new() { Topic = "s2", Partitions = [new() { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] }],
        };
        var (_, first) = await client.RequestAsync<FetchResponse>(full, FetchVersion);
        Assert.Equal(0, first.ErrorCode);
        Assert.NotEqual(0, first.SessionId);
        Assert.Equal(2, first.Responses.Count);
        var session = first.SessionId;

        // Nothing changed: the incremental answer lists no partition.
        var (_, quiet) = await client.RequestAsync<FetchResponse>(new FetchRequest { MaxBytes = 1 << 20, SessionId = session, SessionEpoch = 1, Topics = [new() { Topic = "s1", Partitions = [new() { Partition = 0, FetchOffset = 1, PartitionMaxBytes = 1 << 20 }] }] }, FetchVersion);
        Assert.Equal(0, quiet.ErrorCode);
        Assert.Equal(session, quiet.SessionId);
        Assert.Empty(quiet.Responses);

        // New data on s2 only: only s2 is in the answer, though the request names no partition.
        await client.RequestAsync<ProduceResponse>(Produce("s2", 0, Batch("two")), ProduceVersion);
        var (_, news) = await client.RequestAsync<FetchResponse>(new FetchRequest { MaxBytes = 1 << 20, SessionId = session, SessionEpoch = 2 }, FetchVersion);
        var topic = Assert.Single(news.Responses);
        Assert.Equal("s2", topic.Topic);
        Assert.Equal(1, topic.Partitions[0].HighWatermark);

        var (_, stale) = await client.RequestAsync<FetchResponse>(new FetchRequest { SessionId = session, SessionEpoch = 2 }, FetchVersion);
        Assert.Equal((short)ErrorCode.InvalidFetchSessionEpoch, stale.ErrorCode);
        var (_, unknown) = await client.RequestAsync<FetchResponse>(new FetchRequest { SessionId = session + 1, SessionEpoch = 1 }, FetchVersion);
        Assert.Equal((short)ErrorCode.FetchSessionIdNotFound, unknown.ErrorCode);

        // Forget s2, then produce to it: the session no longer reports it.
        var forget = new FetchRequest { MaxBytes = 1 << 20, SessionId = session, SessionEpoch = 3, ForgottenTopicsData = [new() { Topic = "s2", Partitions = [0] }] };
        await client.RequestAsync<FetchResponse>(forget, FetchVersion);
        await client.RequestAsync<ProduceResponse>(Produce("s2", 0, Batch("three")), ProduceVersion);
        var (_, afterForget) = await client.RequestAsync<FetchResponse>(new FetchRequest { MaxBytes = 1 << 20, SessionId = session, SessionEpoch = 4 }, FetchVersion);
        Assert.DoesNotContain(afterForget.Responses, t => t.Topic == "s2");

        // Epoch -1 closes the session; it is gone afterwards.
        await client.RequestAsync<FetchResponse>(new FetchRequest { SessionId = session, SessionEpoch = -1 }, FetchVersion);
        var (_, closed) = await client.RequestAsync<FetchResponse>(new FetchRequest { SessionId = session, SessionEpoch = 5 }, FetchVersion);
        Assert.Equal((short)ErrorCode.FetchSessionIdNotFound, closed.ErrorCode);
    }

    [Fact]
    public async Task Fetch_ByTopicId_InV13_AndUnknownIdIsUnknownTopicId()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "ids");
        await client.RequestAsync<ProduceResponse>(Produce("ids", 0, Batch("x")), ProduceVersion);
        var id = broker.Broker.Metadata.Current.Topics["ids"].TopicId;
        FetchRequest ById(Uuid topicId) => new() { MaxBytes = 1 << 20, Topics = [new() { TopicId = topicId, Partitions = [new() { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] }] };

        var (_, found) = await client.RequestAsync<FetchResponse>(ById(id), 13);
        Assert.Equal(id, found.Responses[0].TopicId);
        Assert.Equal(1, Only(found).HighWatermark);
        var (_, missing) = await client.RequestAsync<FetchResponse>(ById(Uuid.Random()), 13);
        Assert.Equal((short)ErrorCode.UnknownTopicId, Only(missing).ErrorCode);
    }
}
