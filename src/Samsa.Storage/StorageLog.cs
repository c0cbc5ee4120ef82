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

    [LoggerMessage(3008, LogLevel.Error, "Partition {Partition} in {LogDir} is offline: {Reason}")]
    public static partial void LogOffline(ILogger logger, string partition, string logDir, string reason);

    [LoggerMessage(3009, LogLevel.Information, "Partition {Partition} is back online")]
    public static partial void LogBackOnline(ILogger logger, string partition);

    [LoggerMessage(3010, LogLevel.Warning, "Log of {Partition} is stray ({Reason}); renamed to {Target} and kept")]
    public static partial void StrayLog(ILogger logger, string partition, string reason, string target);

    [LoggerMessage(3011, LogLevel.Error, "Log of {Partition} is stray ({Reason}) but could not be renamed: {Error}; left in place")]
    public static partial void StrayRenameFailed(ILogger logger, string partition, string reason, string error);

    [LoggerMessage(3012, LogLevel.Warning, "{Directory} has an unreadable partition.metadata; rewriting it with the metadata's topic id {TopicId}")]
    public static partial void RewritingPartitionMetadata(ILogger logger, string directory, string topicId);

    [LoggerMessage(3013, LogLevel.Warning, "Ignoring unreadable checkpoint {File} ({Reason}); logs recover without it")]
    public static partial void UnreadableCheckpoint(ILogger logger, string file, string reason);

    [LoggerMessage(3014, LogLevel.Error, "Could not write checkpoint {File}: {Reason} ({Suppressed} more failures since the last line)")]
    public static partial void CheckpointFailed(ILogger logger, string file, string reason, long suppressed);

    [LoggerMessage(3015, LogLevel.Error, "Background log task failed: {Reason}")]
    public static partial void BackgroundTaskFailed(ILogger logger, string reason);

    [LoggerMessage(3016, LogLevel.Information, "Log {Directory} renamed to {Target}; files deleted after the delay")]
    public static partial void ScheduledDelete(ILogger logger, string directory, string target);

    [LoggerMessage(3017, LogLevel.Warning, "Could not delete {Directory}: {Reason}")]
    public static partial void DeleteFailed(ILogger logger, string directory, string reason);

    [LoggerMessage(3018, LogLevel.Warning, "Retention check failed on {Partition}: {Reason}")]
    public static partial void RetentionFailed(ILogger logger, string partition, string reason);

    [LoggerMessage(3019, LogLevel.Error, "Could not flush {Target} at shutdown: {Reason}; the next start recovers it")]
    public static partial void ShutdownFlushFailed(ILogger logger, string target, string reason);

    [LoggerMessage(3020, LogLevel.Warning, "{File} of {Partition} is unreadable ({Reason}); rebuilt from the log's batches")]
    public static partial void RebuiltLeaderEpochs(ILogger logger, string file, string partition, string reason);

    [LoggerMessage(3021, LogLevel.Warning, "Deleting unreadable producer state snapshot {File} ({Reason}); the state is rebuilt from an older one and the log")]
    public static partial void DeletingCorruptSnapshot(ILogger logger, string file, string reason);

    [LoggerMessage(3022, LogLevel.Warning, "Could not write producer state snapshot {File}: {Reason}; recovery replays from an older one")]
    public static partial void SnapshotFailed(ILogger logger, string file, string reason);
}
