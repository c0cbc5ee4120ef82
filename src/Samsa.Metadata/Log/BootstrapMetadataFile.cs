using Samsa.Metadata.Quorum;

namespace Samsa.Metadata.Log;

/// <summary>
/// <c>bootstrap.checkpoint</c>, which Kafka 4.0's <c>kafka-storage.sh format</c> writes into every directory it
/// formats (<c>BootstrapDirectory.writeBinaryFile</c>): a snapshot file (<see cref="RaftSnapshot"/>, id 0-0,
/// kraft.version 0: header, data, footer) whose data records are the bootstrap metadata, the FeatureLevelRecords the
/// first controller writes to an empty log. Samsa's controller finalizes the same levels by itself and does not
/// read the file; it is written so that a formatted directory looks as Kafka's does.
/// </summary>
public static class BootstrapMetadataFile
{
    public const string FileName = "bootstrap.checkpoint";

    public static string Write(string directory, IReadOnlyList<MetadataRecord> records, long timestampMs)
    {
        var path = Path.Combine(directory, FileName);
        var bytes = RaftSnapshot.Write(BootstrapVoters.SnapshotId, new RaftSnapshotContents([.. records.Select(MetadataRecordSerde.Serialize)], null, timestampMs, 0), timestampMs);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    /// <summary>The metadata records of <c>bootstrap.checkpoint</c> in <paramref name="directory"/>; null when there is none.</summary>
    public static IReadOnlyList<MetadataRecord>? Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        return File.Exists(path) ? [.. RaftSnapshot.Read(File.ReadAllBytes(path)).Records.Select(r => MetadataRecordSerde.Deserialize(r))] : null;
    }
}
