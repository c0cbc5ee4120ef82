using System.Globalization;

namespace Samsa.Metadata.Quorum;

/// <summary>
/// KIP-853's bootstrap snapshot: <c>kafka-storage.sh format --standalone</c> or <c>--initial-controllers</c>
/// writes the initial voter set as the snapshot <c>__cluster_metadata-0/00000000000000000000-0000000000.checkpoint</c>
/// (Kafka's <c>Snapshots.BOOTSTRAP_SNAPSHOT_ID</c>, end offset 0, epoch 0) in the metadata log dir: a header, a
/// KRaftVersionRecord (kraft.version 1) and the VotersRecord, no data, a footer (Kafka 4.0's
/// <c>Formatter.writeDynamicQuorumSnapshot</c>). A node starts its quorum from it; <see cref="PartitionRaftLog"/>
/// opens it as its latest snapshot, so <see cref="RaftClient"/> takes its voter set from there.
/// </summary>
public static class BootstrapVoters
{
    public static readonly OffsetAndEpoch SnapshotId = new(0, 0);

    /// <summary>The bootstrap snapshot's file name.</summary>
    public static readonly string FileName =
        $"{SnapshotId.Offset.ToString("D20", CultureInfo.InvariantCulture)}-{SnapshotId.Epoch.ToString("D10", CultureInfo.InvariantCulture)}{PartitionRaftLog.SnapshotSuffix}";

    /// <summary>Where the bootstrap snapshot of <paramref name="metadataLogDir"/> lives.</summary>
    public static string PathIn(string metadataLogDir) => Path.Combine(metadataLogDir, $"{TopicName.ClusterMetadata}-0", FileName);

    /// <summary>Writes the bootstrap snapshot holding <paramref name="voters"/> (creating the partition dir); returns its path.</summary>
    public static string Write(string metadataLogDir, IReadOnlyList<QuorumVoter> voters, long timestampMs)
    {
        var path = PathIn(metadataLogDir);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var bytes = RaftSnapshot.Write(SnapshotId, new RaftSnapshotContents([], voters, LastContainedLogTimestamp: timestampMs, KRaftVersion: 1), timestampMs);
        var temporary = path + ".part";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    /// <summary>
    /// The voters of the bootstrap snapshot in <paramref name="metadataLogDir"/>, by id: null when there is no such
    /// snapshot (a static quorum, or the log has moved past it to a snapshot of its own) or it holds no
    /// VotersRecord. Throws <see cref="InvalidDataException"/> when the file is torn or corrupt.
    /// </summary>
    public static IReadOnlyList<QuorumVoter>? Read(string metadataLogDir)
    {
        var path = PathIn(metadataLogDir);
        return File.Exists(path) ? RaftSnapshot.Read(File.ReadAllBytes(path)).Voters : null;
    }
}
