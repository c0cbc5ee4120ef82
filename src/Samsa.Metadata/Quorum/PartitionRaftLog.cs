using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Protocol;
using Samsa.Storage;

namespace Samsa.Metadata.Quorum;

/// <summary>
/// <see cref="IRaftLog"/> on the storage engine (Kafka's <c>KafkaMetadataLog</c>): <c>__cluster_metadata-0</c> as a
/// <see cref="PartitionLog"/> whose leader-epoch cache answers <see cref="EndOffsetForEpoch"/>, whose recovery point
/// is <see cref="FlushedOffset"/>, and snapshots beside it as <c>&lt;end offset, 20 digits&gt;-&lt;epoch, 10
/// digits&gt;.checkpoint</c> files in Kafka's format (<see cref="RaftSnapshot"/>: header, kraft.version and voters,
/// the state machine's records, footer). Only the Raft poll thread calls it.
/// </summary>
public sealed class PartitionRaftLog : IRaftLog, IDisposable
{
    public const string SnapshotSuffix = ".checkpoint";

    private readonly PartitionLog _log;

    private PartitionRaftLog(PartitionLog log, OffsetAndEpoch? snapshot)
    {
        _log = log;
        LatestSnapshotId = snapshot;
    }

    public string Directory => _log.Directory;

    /// <summary>Opens (creating) the log under <paramref name="metadataLogDir"/>, recovering every segment (the log is small).</summary>
    public static PartitionRaftLog Open(string metadataLogDir, ILogger? logger = null)
    {
        var config = LogConfig.Default with
        {
            RetentionMs = -1,
            RetentionBytes = -1,
            MaxMessageBytes = int.MaxValue / 2,
            MessageTimestampAfterMaxMs = long.MaxValue,
        };
        var directory = Path.Combine(metadataLogDir, $"{TopicName.ClusterMetadata}-0");
        var snapshot = System.IO.Directory.Exists(directory) ? Snapshots(directory).Select(s => (OffsetAndEpoch?)s).LastOrDefault() : null;
        var log = PartitionLog.Open(metadataLogDir, TopicName.ClusterMetadata, 0, Uuid.MetadataTopicId, config, new LogOpenOptions
        {
            Logger = logger ?? NullLogger.Instance,
            LogStartOffset = snapshot?.Offset ?? 0,
        });
        if (snapshot is { } id && log.LogEndOffset < id.Offset)
        {
            // Installed a leader's snapshot, then crashed before the log was reset to start after it.
            log.TruncateFullyAndStartAt(id.Offset);
        }
        else if (snapshot is { } kept && log.LogStartOffset < kept.Offset)
        {
            log.UpdateHighWatermark(kept.Offset);
            log.DeleteRecordsBefore(kept.Offset);
        }
        return new PartitionRaftLog(log, snapshot);
    }

    public long StartOffset => _log.LogStartOffset;

    public long EndOffset => _log.LogEndOffset;

    public long FlushedOffset => Math.Min(_log.RecoveryPoint, _log.LogEndOffset);

    public int LastFetchedEpoch => EndOffset > StartOffset && _log.LeaderEpochCache.LatestEpoch is { } epoch ? epoch : LatestSnapshotId?.Epoch ?? 0;

    public OffsetAndEpoch? LatestSnapshotId { get; private set; }

    public OffsetAndEpoch EndOffsetForEpoch(int epoch)
    {
        var entries = _log.LeaderEpochCache.Entries;
        if (entries.Count == 0 || EndOffset == StartOffset || epoch < entries[0].Epoch)
        {
            return LatestSnapshotId is { } snapshot && snapshot.Epoch <= epoch ? snapshot : new OffsetAndEpoch(StartOffset, 0);
        }
        if (epoch >= entries[^1].Epoch)
        {
            return new OffsetAndEpoch(EndOffset, entries[^1].Epoch);
        }
        var (found, end) = _log.LeaderEpochCache.EndOffsetFor(epoch, EndOffset);
        return new OffsetAndEpoch(end, found);
    }

    public (long BaseOffset, long LastOffset) AppendAsLeader(ReadOnlySpan<byte> batch, int epoch)
    {
        var copy = batch.ToArray();
        // Coordinator origin: the leader writes control batches (LeaderChange) as well as data.
        var info = _log.Append(copy, epoch, AppendOrigin.Coordinator);
        return (info.FirstOffset, info.LastOffset);
    }

    public long AppendAsFollower(ReadOnlySpan<byte> batches)
    {
        var info = _log.AppendAsFollower(batches.ToArray());
        return info.LastOffset - info.FirstOffset + 1;
    }

    public void TruncateTo(long offset) => _log.TruncateTo(offset);

    public void Flush() => _log.Flush();

    public ReadOnlyMemory<byte> Read(long offset, int maxBytes)
    {
        if (offset < StartOffset || offset >= EndOffset)
        {
            return ReadOnlyMemory<byte>.Empty;
        }
        var bytes = _log.Read(offset, maxBytes, FetchIsolation.LogEnd).Records.ToArray();
        // A read may end inside a batch; the quorum moves whole batches only.
        var whole = 0;
        foreach (var (position, header) in RaftRpc.Batches(bytes))
        {
            whole = position + header.SizeInBytes;
        }
        return bytes.AsMemory(0, whole);
    }

    public ReadOnlyMemory<byte>? ReadSnapshot(OffsetAndEpoch id)
    {
        var path = SnapshotPath(id);
        // Not "cond ? bytes : null": the null literal would convert to an empty, non-null memory.
        return File.Exists(path) ? new ReadOnlyMemory<byte>(File.ReadAllBytes(path)) : (ReadOnlyMemory<byte>?)null;
    }

    public OffsetAndEpoch CreateSnapshot(long endOffset, RaftSnapshotContents contents, long timestampMs)
    {
        if (endOffset < StartOffset || endOffset > EndOffset)
        {
            throw new ArgumentOutOfRangeException(nameof(endOffset), endOffset, $"Snapshot outside the log [{StartOffset}, {EndOffset}]");
        }
        var epoch = endOffset == StartOffset ? LatestSnapshotId?.Epoch ?? 0 : _log.LeaderEpochCache.EpochForOffset(endOffset - 1) ?? 0;
        var id = new OffsetAndEpoch(endOffset, epoch);
        WriteSnapshot(id, RaftSnapshot.Write(id, contents, timestampMs));
        if (endOffset > _log.RecoveryPoint)
        {
            _log.Flush();
        }
        _log.UpdateHighWatermark(Math.Max(_log.HighWatermark, endOffset));
        _log.DeleteRecordsBefore(endOffset);
        return id;
    }

    public void InstallSnapshot(OffsetAndEpoch id, ReadOnlySpan<byte> snapshot)
    {
        WriteSnapshot(id, snapshot);
        _log.TruncateFullyAndStartAt(id.Offset);
    }

    public void Dispose() => _log.Dispose();

    private void WriteSnapshot(OffsetAndEpoch id, ReadOnlySpan<byte> snapshot)
    {
        var path = SnapshotPath(id);
        var temporary = path + ".part";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(snapshot);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        var previous = LatestSnapshotId;
        LatestSnapshotId = id;
        if (previous is { } old && old != id)
        {
            File.Delete(SnapshotPath(old));
        }
    }

    private string SnapshotPath(OffsetAndEpoch id) =>
        Path.Combine(_log.Directory, $"{id.Offset.ToString("D20", CultureInfo.InvariantCulture)}-{id.Epoch.ToString("D10", CultureInfo.InvariantCulture)}{SnapshotSuffix}");

    /// <summary>The snapshots in <paramref name="directory"/>, oldest first.</summary>
    private static IEnumerable<OffsetAndEpoch> Snapshots(string directory) =>
        System.IO.Directory.EnumerateFiles(directory, "*" + SnapshotSuffix)
            .Select(Path.GetFileName)
            .Select(name => name![..^SnapshotSuffix.Length].Split('-'))
            .Where(parts => parts.Length == 2 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out _) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out _))
            .Select(parts => new OffsetAndEpoch(long.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture)))
            .OrderBy(id => id.Offset);
}
