using System.Globalization;
using Samsa.Metadata.Image;
using Samsa.Protocol.MetadataRecords;
using Samsa.Protocol.Records;

namespace Samsa.Metadata.Log;

/// <summary>
/// Metadata snapshots beside the metadata log, named as Kafka names them:
/// <c>{endOffset:D20}-{epoch:D10}.checkpoint</c>, where endOffset is one past the last record the snapshot
/// covers. The body is record batches of metadata records that rebuild the whole image (features, brokers,
/// topics, partitions, configs, the next producer id). A snapshot is written to <c>.checkpoint.part</c>, flushed and renamed, so a
/// crash leaves either the old set or the new one; older snapshots are then deleted.
/// </summary>
public static class MetadataSnapshots
{
    private const string Suffix = ".checkpoint";
    private const int RecordsPerBatch = 2000;

    public sealed record SnapshotFile(string Path, long EndOffset, int Epoch);

    public static SnapshotFile? Latest(string directory) =>
        System.IO.Directory.EnumerateFiles(directory, "*" + Suffix)
            .Select(Parse)
            .Where(s => s is not null)
            .OrderByDescending(s => s!.EndOffset)
            .FirstOrDefault();

    private static SnapshotFile? Parse(string path)
    {
        var name = System.IO.Path.GetFileNameWithoutExtension(path);
        var dash = name.IndexOf('-', StringComparison.Ordinal);
        return dash == 20 && long.TryParse(name[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            && int.TryParse(name[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)
            ? new SnapshotFile(path, offset, epoch)
            : null;
    }

    /// <summary>Writes a snapshot of <paramref name="image"/> (which must be at offset <c>image.Offset</c>).</summary>
    public static string Write(string directory, MetadataImage image, long timestampMs)
    {
        var endOffset = image.Offset + 1;
        var path = System.IO.Path.Combine(directory, $"{endOffset:D20}-{0:D10}{Suffix}");
        var part = path + ".part";
        using (var stream = new FileStream(part, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            var offset = 0L;
            foreach (var chunk in Records(image).Chunk(RecordsPerBatch))
            {
                stream.Write(LocalMetadataLog.EncodeBatch(chunk, offset, timestampMs));
                offset += chunk.Length;
            }
            stream.Flush(flushToDisk: true);
        }
        File.Move(part, path, overwrite: true);
        foreach (var old in System.IO.Directory.EnumerateFiles(directory, "*" + Suffix).Where(p => p != path))
        {
            File.Delete(old);
        }
        return path;
    }

    /// <summary>The records of a snapshot file, in order.</summary>
    public static IEnumerable<MetadataRecord> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var position = 0;
        var result = new List<MetadataRecord>();
        while (bytes.Length - position >= RecordBatch.HeaderSize)
        {
            var header = RecordBatchHeader.Read(bytes.AsSpan(position));
            if (position + header.SizeInBytes > bytes.Length)
            {
                throw new InvalidDataException($"Snapshot {path} is truncated at byte {position}");
            }
            var view = new RecordBatchView(bytes.AsSpan(position, header.SizeInBytes));
            if (!view.IsCrcValid)
            {
                throw new InvalidDataException($"Snapshot {path} has a corrupt batch at byte {position}");
            }
            if (header.IsControl)
            {
                // Kafka-format snapshots (the KIP-853 bootstrap snapshot kafka-storage.sh format writes) hold header,
                // voters and footer control records: no metadata.
                position += header.SizeInBytes;
                continue;
            }
            using var scratch = new PooledBuffer(1024);
            foreach (var record in view.GetRecords(scratch))
            {
                result.Add(MetadataRecordSerde.Deserialize(record.Value.ToArray()));
            }
            position += header.SizeInBytes;
        }
        return result;
    }

    /// <summary>The records that rebuild <paramref name="image"/> from an empty one (Kafka's image writers).</summary>
    public static IEnumerable<MetadataRecord> Records(MetadataImage image)
    {
        foreach (var (name, level) in image.Features)
        {
            yield return MetadataRecord.Of(new FeatureLevelRecord { Name = name, FeatureLevel = level });
        }
        foreach (var broker in image.Brokers.Values)
        {
            // A registration made without a record (the combined node's own) is not in the log either, so not here.
            if (broker.Epoch >= 0)
            {
                yield return MetadataRecord.Of(RegisterBrokerRecordOf(broker));
            }
        }
        foreach (var topic in image.Topics.Values)
        {
            yield return MetadataRecord.Of(new TopicRecord { Name = topic.Name, TopicId = topic.TopicId });
            foreach (var p in topic.Partitions)
            {
                yield return MetadataRecord.Of(new PartitionRecord
                {
                    PartitionId = p.PartitionIndex,
                    TopicId = topic.TopicId,
                    Replicas = [.. p.Replicas],
                    Isr = [.. p.Isr],
                    Leader = p.Leader,
                    LeaderEpoch = p.LeaderEpoch,
                    PartitionEpoch = p.PartitionEpoch,
                    LeaderRecoveryState = p.LeaderRecoveryState,
                    AddingReplicas = [.. p.AddingReplicas],
                    RemovingReplicas = [.. p.RemovingReplicas],
                });
            }
        }
        foreach (var (resource, configs) in image.Configs)
        {
            foreach (var (name, value) in configs)
            {
                yield return MetadataRecord.Of(new ConfigRecord { ResourceType = (sbyte)resource.Type, ResourceName = resource.Name, Name = name, Value = value });
            }
        }
        if (image.NextProducerId > 0)
        {
            // As Kafka's ProducerIdsImage.write: no broker owns the snapshot's record.
            yield return MetadataRecord.Of(new ProducerIdsRecord { BrokerId = -1, BrokerEpoch = -1, NextProducerId = image.NextProducerId });
        }
        foreach (var (id, acl) in image.Acls)
        {
            yield return MetadataRecord.Of(acl.ToRecord(id));
        }
        foreach (var (user, byMechanism) in image.ScramCredentials)
        {
            foreach (var (mechanism, c) in byMechanism)
            {
                yield return MetadataRecord.Of(new UserScramCredentialRecord
                {
                    Name = user,
                    Mechanism = (sbyte)mechanism,
                    Salt = c.Salt,
                    StoredKey = c.StoredKey,
                    ServerKey = c.ServerKey,
                    Iterations = c.Iterations,
                });
            }
        }
        foreach (var (entity, values) in image.ClientQuotas)
        {
            foreach (var (key, value) in values)
            {
                yield return MetadataRecord.Of(ClientQuotaRecordOf(entity, key, value, remove: false));
            }
        }
    }

    /// <summary>One quota key of an entity as a ClientQuotaRecord (Kafka's <c>ClientQuotaImage.write</c>).</summary>
    public static ClientQuotaRecord ClientQuotaRecordOf(ClientQuotaEntity entity, string key, double value, bool remove) => new()
    {
        Entity = [.. entity.Components().Select(c => new ClientQuotaRecord.EntityData { EntityType = c.Type, EntityName = c.Name })],
        Key = key,
        Value = value,
        Remove = remove,
    };

    /// <summary>A broker's registration as one RegisterBrokerRecord, fenced and controlled-shutdown state included (Kafka's <c>BrokerRegistration.toRecord</c>).</summary>
    private static RegisterBrokerRecord RegisterBrokerRecordOf(BrokerRegistration broker) => new()
    {
        BrokerId = broker.NodeId,
        IncarnationId = broker.IncarnationId,
        BrokerEpoch = broker.Epoch,
        EndPoints = [.. broker.Endpoints.Select(e => new RegisterBrokerRecord.BrokerEndpoint { Name = e.ListenerName, Host = e.Host, Port = (ushort)e.Port, SecurityProtocol = e.SecurityProtocol })],
        Features = [.. broker.SupportedFeatures.Select(f => new RegisterBrokerRecord.BrokerFeature { Name = f.Name, MinSupportedVersion = f.MinSupportedVersion, MaxSupportedVersion = f.MaxSupportedVersion })],
        Rack = broker.Rack,
        Fenced = broker.Fenced,
        InControlledShutdown = broker.InControlledShutdown,
        LogDirs = [.. broker.LogDirs],
    };
}
