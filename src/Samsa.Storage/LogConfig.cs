using System.Globalization;

namespace Samsa.Storage;

/// <summary>
/// Topic-level log configuration with Kafka's names and defaults (kafka.apache.org/documentation/#topicconfigs).
/// <see cref="FromProperties"/> reads the dotted names; unknown names are ignored here (the broker validates).
/// </summary>
public sealed record LogConfig
{
    public int SegmentBytes { get; init; } = 1024 * 1024 * 1024;            // segment.bytes
    public long SegmentMs { get; init; } = 7L * 24 * 60 * 60 * 1000;         // segment.ms
    public long SegmentJitterMs { get; init; }                                // segment.jitter.ms
    public int SegmentIndexBytes { get; init; } = 10 * 1024 * 1024;          // segment.index.bytes
    public int IndexIntervalBytes { get; init; } = 4096;                      // index.interval.bytes
    public long FlushMessages { get; init; } = long.MaxValue;                 // flush.messages
    public long FlushMs { get; init; } = long.MaxValue;                       // flush.ms
    public long RetentionMs { get; init; } = 7L * 24 * 60 * 60 * 1000;       // retention.ms (-1: forever)
    public long RetentionBytes { get; init; } = -1;                           // retention.bytes (-1: unlimited)
    public long FileDeleteDelayMs { get; init; } = 60_000;                    // file.delete.delay.ms
    public int MaxMessageBytes { get; init; } = 1024 * 1024 + RecordBatchOverhead; // max.message.bytes (1048588)
    public bool Compact { get; init; }                                        // cleanup.policy contains compact
    public bool Delete { get; init; } = true;                                 // cleanup.policy contains delete
    public long DeleteRetentionMs { get; init; } = 24L * 60 * 60 * 1000;     // delete.retention.ms
    public double MinCleanableDirtyRatio { get; init; } = 0.5;               // min.cleanable.dirty.ratio
    public long MinCompactionLagMs { get; init; }                             // min.compaction.lag.ms
    public long MaxCompactionLagMs { get; init; } = long.MaxValue;            // max.compaction.lag.ms
    public bool MessageTimestampLogAppendTime { get; init; }                  // message.timestamp.type
    public long MessageTimestampBeforeMaxMs { get; init; } = long.MaxValue;   // message.timestamp.before.max.ms
    public long MessageTimestampAfterMaxMs { get; init; } = 60L * 60 * 1000;  // message.timestamp.after.max.ms (Kafka 4.0 default)

    /// <summary>compression.type: null means <c>producer</c> (keep the producer's codec).</summary>
    public Samsa.Protocol.Records.CompressionType? CompressionType { get; init; }

    public int CompressionGzipLevel { get; init; } = -1;                     // compression.gzip.level (-1: zlib's default, 6)
    public int CompressionLz4Level { get; init; } = 9;                       // compression.lz4.level (LZ4 HC level)
    public int CompressionZstdLevel { get; init; } = 3;                      // compression.zstd.level

    /// <summary>The level the topic sets for <paramref name="codec"/> (KIP-390), used when the broker recompresses.</summary>
    public int CompressionLevel(Samsa.Protocol.Records.CompressionType codec) => codec switch
    {
        Samsa.Protocol.Records.CompressionType.Gzip => CompressionGzipLevel,
        Samsa.Protocol.Records.CompressionType.Lz4 => CompressionLz4Level,
        Samsa.Protocol.Records.CompressionType.Zstd => CompressionZstdLevel,
        _ => -1,
    };

    /// <summary>Kafka's max.message.bytes default is 1 MiB plus the 12-byte log overhead.</summary>
    private const int RecordBatchOverhead = 12;

    public static LogConfig Default { get; } = new();

    private static Samsa.Protocol.Records.CompressionType? ParseCompression(string name) => name switch
    {
        "producer" => null,
        "uncompressed" => Samsa.Protocol.Records.CompressionType.None,
        "gzip" => Samsa.Protocol.Records.CompressionType.Gzip,
        "snappy" => Samsa.Protocol.Records.CompressionType.Snappy,
        "lz4" => Samsa.Protocol.Records.CompressionType.Lz4,
        "zstd" => Samsa.Protocol.Records.CompressionType.Zstd,
        _ => throw new ArgumentException($"Unknown compression.type '{name}'"),
    };

    /// <summary>Builds a config from Kafka property names, starting from <paramref name="defaults"/>.</summary>
    public static LogConfig FromProperties(IReadOnlyDictionary<string, string> props, LogConfig? defaults = null)
    {
        var c = defaults ?? Default;
        long L(string name, long current) => props.TryGetValue(name, out var v) ? long.Parse(v, CultureInfo.InvariantCulture) : current;
        int I(string name, int current) => props.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : current;
        var policy = props.TryGetValue("cleanup.policy", out var p) ? p.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : null;
        return c with
        {
            SegmentBytes = I("segment.bytes", c.SegmentBytes),
            SegmentMs = L("segment.ms", c.SegmentMs),
            SegmentJitterMs = L("segment.jitter.ms", c.SegmentJitterMs),
            SegmentIndexBytes = I("segment.index.bytes", c.SegmentIndexBytes),
            IndexIntervalBytes = I("index.interval.bytes", c.IndexIntervalBytes),
            FlushMessages = L("flush.messages", c.FlushMessages),
            FlushMs = L("flush.ms", c.FlushMs),
            RetentionMs = L("retention.ms", c.RetentionMs),
            RetentionBytes = L("retention.bytes", c.RetentionBytes),
            FileDeleteDelayMs = L("file.delete.delay.ms", c.FileDeleteDelayMs),
            MaxMessageBytes = I("max.message.bytes", c.MaxMessageBytes),
            Compact = policy is null ? c.Compact : policy.Contains("compact"),
            Delete = policy is null ? c.Delete : policy.Contains("delete"),
            DeleteRetentionMs = L("delete.retention.ms", c.DeleteRetentionMs),
            MinCleanableDirtyRatio = props.TryGetValue("min.cleanable.dirty.ratio", out var r) ? double.Parse(r, CultureInfo.InvariantCulture) : c.MinCleanableDirtyRatio,
            MinCompactionLagMs = L("min.compaction.lag.ms", c.MinCompactionLagMs),
            MaxCompactionLagMs = L("max.compaction.lag.ms", c.MaxCompactionLagMs),
            MessageTimestampLogAppendTime = props.TryGetValue("message.timestamp.type", out var t) ? t == "LogAppendTime" : c.MessageTimestampLogAppendTime,
            MessageTimestampBeforeMaxMs = L("message.timestamp.before.max.ms", c.MessageTimestampBeforeMaxMs),
            MessageTimestampAfterMaxMs = L("message.timestamp.after.max.ms", c.MessageTimestampAfterMaxMs),
            CompressionType = props.TryGetValue("compression.type", out var codec) ? ParseCompression(codec) : c.CompressionType,
            CompressionGzipLevel = I("compression.gzip.level", c.CompressionGzipLevel),
            CompressionLz4Level = I("compression.lz4.level", c.CompressionLz4Level),
            CompressionZstdLevel = I("compression.zstd.level", c.CompressionZstdLevel),
        };
    }
}

/// <summary>
/// Broker-wide log settings (server.properties). <c>log.flush.interval.*</c> unset means "use the topic's
/// flush.* configs", which default to never (the page cache and replication give durability, as in Kafka).
/// </summary>
public sealed record LogManagerConfig
{
    public long? LogFlushIntervalMessages { get; init; }                  // log.flush.interval.messages
    public long? LogFlushIntervalMs { get; init; }                        // log.flush.interval.ms
    public long LogFlushSchedulerIntervalMs { get; init; } = long.MaxValue;  // log.flush.scheduler.interval.ms
    public long LogFlushOffsetCheckpointIntervalMs { get; init; } = 60_000;  // log.flush.offset.checkpoint.interval.ms
    public long LogFlushStartOffsetCheckpointIntervalMs { get; init; } = 60_000; // log.flush.start.offset.checkpoint.interval.ms
    public long HighWatermarkCheckpointIntervalMs { get; init; } = 5_000; // replica.high.watermark.checkpoint.interval.ms
    public long LogSegmentDeleteDelayMs { get; init; } = 60_000;          // log.segment.delete.delay.ms (deleted partition directories)
    public long LogRetentionCheckIntervalMs { get; init; } = 300_000;     // log.retention.check.interval.ms
    public bool LogCleanerEnable { get; init; } = true;                   // log.cleaner.enable
    public int LogCleanerThreads { get; init; } = 1;                      // log.cleaner.threads
    public double LogCleanerIoMaxBytesPerSecond { get; init; } = double.MaxValue; // log.cleaner.io.max.bytes.per.second
    public long LogCleanerBackoffMs { get; init; } = 15_000;              // log.cleaner.backoff.ms
    public long LogCleanerDedupeBufferSize { get; init; } = 128L * 1024 * 1024; // log.cleaner.dedupe.buffer.size
    public int MaxOpenSegmentHandles { get; init; } = 4096;
    public long ProducerIdExpirationMs { get; init; } = 86_400_000;          // producer.id.expiration.ms
    public long ProducerIdExpirationCheckIntervalMs { get; init; } = 600_000; // producer.id.expiration.check.interval.ms

    /// <summary>Applies the broker-wide flush overrides to a topic config, as Kafka's defaults chain does.</summary>
    public LogConfig Apply(LogConfig topic) => topic with
    {
        FlushMessages = LogFlushIntervalMessages ?? topic.FlushMessages,
        FlushMs = LogFlushIntervalMs ?? topic.FlushMs,
    };
}
