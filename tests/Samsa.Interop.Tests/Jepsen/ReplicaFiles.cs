using System.Buffers.Binary;
using System.Globalization;

namespace Samsa.Interop.Tests.Jepsen;

/// <summary>
/// A partition's record batches as one replica holds them on disk: every <c>.log</c> segment file of its directory,
/// in base-offset order, cut into batches by their length fields (segment boundaries may differ between replicas;
/// the batches, offsets, leader epochs and CRCs included, may not).
/// </summary>
public static class ReplicaFiles
{
    public static List<byte[]> Batches(string partitionDirectory)
    {
        var batches = new List<byte[]>();
        var segments = Directory.GetFiles(partitionDirectory, "*.log")
            .OrderBy(f => long.Parse(Path.GetFileNameWithoutExtension(f), CultureInfo.InvariantCulture));
        foreach (var segment in segments)
        {
            var bytes = File.ReadAllBytes(segment);
            var position = 0;
            // offset (8) + length (4); the length counts the rest of the batch.
            while (bytes.Length - position >= 12)
            {
                var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(position + 8));
                if (length <= 0 || position + 12 + length > bytes.Length)
                {
                    break;
                }
                batches.Add(bytes[position..(position + 12 + length)]);
                position += 12 + length;
            }
        }
        return batches;
    }

    /// <summary>
    /// The first difference between the replicas' batches of <paramref name="topic"/>-<paramref name="partition"/> under
    /// each broker's data directory, or null when all hold the same batches, byte for byte.
    /// </summary>
    public static string? Compare(IReadOnlyDictionary<int, string> dataDirectories, string topic, int partition)
    {
        var replicas = dataDirectories
            .Select(d => (Broker: d.Key, Dir: Path.Combine(d.Value, $"{topic}-{partition}")))
            .Where(r => Directory.Exists(r.Dir))
            .Select(r => (r.Broker, Batches: Batches(r.Dir)))
            .ToList();
        if (replicas.Count < 2)
        {
            return $"{topic}-{partition}: {replicas.Count} replica directories found";
        }
        var (firstBroker, first) = replicas[0];
        foreach (var (broker, batches) in replicas.Skip(1))
        {
            if (batches.Count != first.Count)
            {
                return $"{topic}-{partition}: broker {firstBroker} holds {first.Count} batches, broker {broker} {batches.Count}";
            }
            for (var i = 0; i < batches.Count; i++)
            {
                if (!batches[i].AsSpan().SequenceEqual(first[i]))
                {
                    return $"{topic}-{partition}: batch {i} (offset {BinaryPrimitives.ReadInt64BigEndian(first[i])}) differs between brokers {firstBroker} and {broker}";
                }
            }
        }
        return null;
    }
}
