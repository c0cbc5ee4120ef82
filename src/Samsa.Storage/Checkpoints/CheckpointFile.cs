using System.Globalization;
using System.Text;

namespace Samsa.Storage.Checkpoints;

/// <summary>
/// Kafka's <c>CheckpointFile</c> text format, shared by the offset checkpoints and the leader-epoch checkpoint:
/// <code>
/// 0                 (version)
/// N                 (number of entries)
/// entry line * N    (fields separated by one space)
/// </code>
/// Written to <c>name.tmp</c>, fsynced, then renamed over the old file, so a crash leaves either the old or
/// the new checkpoint. Reading bounds the entry count by the file size before allocating.
/// </summary>
public static class CheckpointFile
{
    public const int Version = 0;

    public static void Write(string path, IEnumerable<string> lines)
    {
        var body = new StringBuilder();
        var list = lines.ToList();
        body.Append(CultureInfo.InvariantCulture, $"{Version}\n{list.Count}\n");
        foreach (var line in list)
        {
            body.Append(line).Append('\n');
        }
        WriteAtomically(path, Encoding.UTF8.GetBytes(body.ToString()));
    }

    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        var tmp = path + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Reads the entry lines; a missing file is empty, a malformed one throws <see cref="InvalidDataException"/>.</summary>
    public static IReadOnlyList<string[]> Read(string path, int fieldsPerLine)
    {
        if (!File.Exists(path))
        {
            return [];
        }
        var lines = File.ReadAllLines(path);
        if (lines.Length < 2 || !int.TryParse(lines[0], CultureInfo.InvariantCulture, out var version) || version != Version)
        {
            throw new InvalidDataException($"Checkpoint {path} has an unknown version line");
        }
        if (!int.TryParse(lines[1], CultureInfo.InvariantCulture, out var count) || count < 0 || count != lines.Length - 2)
        {
            throw new InvalidDataException($"Checkpoint {path} declares {lines[1]} entries but has {lines.Length - 2} lines");
        }
        var result = new List<string[]>(count);
        for (var i = 0; i < count; i++)
        {
            var fields = lines[i + 2].Split(' ');
            if (fields.Length != fieldsPerLine)
            {
                throw new InvalidDataException($"Checkpoint {path} line {i + 3} has {fields.Length} fields, expected {fieldsPerLine}");
            }
            result.Add(fields);
        }
        return result;
    }
}

/// <summary>A topic name and partition number, printed as Kafka prints it: <c>topic-0</c>.</summary>
public readonly record struct TopicPartition(string Topic, int Partition)
{
    public override string ToString() => $"{Topic}-{Partition.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Parses a partition directory name; the partition is after the last '-'.</summary>
    public static bool TryParseDirectoryName(string name, out TopicPartition tp)
    {
        tp = default;
        var dash = name.LastIndexOf('-');
        if (dash <= 0 || !int.TryParse(name.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
        {
            return false;
        }
        tp = new TopicPartition(name[..dash], partition);
        return true;
    }
}

/// <summary>
/// <c>recovery-point-offset-checkpoint</c>, <c>log-start-offset-checkpoint</c>, <c>replication-offset-checkpoint</c>
/// and <c>cleaner-offset-checkpoint</c>: lines of <c>topic partition offset</c> (Kafka's <c>OffsetCheckpointFile</c>).
/// </summary>
public sealed class OffsetCheckpointFile(string path)
{
    public const string RecoveryPoint = "recovery-point-offset-checkpoint";
    public const string LogStartOffset = "log-start-offset-checkpoint";
    public const string ReplicationOffset = "replication-offset-checkpoint";
    public const string CleanerOffset = "cleaner-offset-checkpoint";

    private readonly Lock _lock = new();

    public string Path { get; } = path;

    public void Write(IReadOnlyDictionary<TopicPartition, long> offsets)
    {
        lock (_lock)
        {
            CheckpointFile.Write(Path, offsets
                .OrderBy(e => e.Key.Topic, StringComparer.Ordinal).ThenBy(e => e.Key.Partition)
                .Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Key.Topic} {e.Key.Partition} {e.Value}")));
        }
    }

    public Dictionary<TopicPartition, long> Read()
    {
        lock (_lock)
        {
            var result = new Dictionary<TopicPartition, long>();
            foreach (var f in CheckpointFile.Read(Path, 3))
            {
                if (!int.TryParse(f[1], CultureInfo.InvariantCulture, out var partition) || !long.TryParse(f[2], CultureInfo.InvariantCulture, out var offset))
                {
                    throw new InvalidDataException($"Checkpoint {Path} has a malformed entry '{string.Join(' ', f)}'");
                }
                result[new TopicPartition(f[0], partition)] = offset;
            }
            return result;
        }
    }
}
