namespace Samsa.Protocol.Records;

/// <summary>The codec id in the low three bits of a record batch's attributes.</summary>
public enum CompressionType : byte
{
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

/// <summary>Bit 3 of a batch's attributes.</summary>
public enum TimestampType : byte
{
    CreateTime = 0,
    LogAppendTime = 1,
}
