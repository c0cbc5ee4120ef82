using Microsoft.Extensions.Logging;

namespace Samsa.Storage;

/// <summary>Source-generated log messages of the storage room; event ids 3000-3099 are reserved for it.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(3000, LogLevel.Warning, "Found invalid data in log segment {File} at byte position {Position}: {Reason}. Truncating {Bytes} bytes")]
    public static partial void CorruptionFound(ILogger logger, string file, long position, string reason, long bytes);

    [LoggerMessage(3001, LogLevel.Warning, "Index {File} is corrupt or missing; rebuilding it from the log")]
    public static partial void RebuildingIndex(ILogger logger, string file);

    [LoggerMessage(3002, LogLevel.Information, "Recovering unflushed segment {BaseOffset} of {Partition}")]
    public static partial void RecoveringSegment(ILogger logger, string partition, long baseOffset);

    [LoggerMessage(3003, LogLevel.Information, "Deleting segment {BaseOffset} of {Partition}: {Reason}")]
    public static partial void DeletingSegment(ILogger logger, string partition, long baseOffset, string reason);

    [LoggerMessage(3004, LogLevel.Information, "Rolled new segment {BaseOffset} of {Partition}")]
    public static partial void RolledSegment(ILogger logger, string partition, long baseOffset);

    [LoggerMessage(3005, LogLevel.Information, "Cleaned {Partition}: {BytesBefore} bytes to {BytesAfter} bytes, {Kept} of {Read} records kept")]
    public static partial void Cleaned(ILogger logger, string partition, long bytesBefore, long bytesAfter, long kept, long read);

    [LoggerMessage(3006, LogLevel.Error, "Log cleaner failed on {Partition}")]
    public static partial void CleanerFailed(ILogger logger, Exception exception, string partition);

    [LoggerMessage(3007, LogLevel.Warning, "Deleting segments after {BaseOffset} of {Partition} because recovery truncated it")]
    public static partial void DeletingAfterTruncation(ILogger logger, string partition, long baseOffset);
}
