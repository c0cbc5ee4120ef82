using System.Globalization;
using Samsa.Broker.Config;
using Samsa.Broker.Groups;
using Samsa.Broker.Lag;
using Samsa.Broker.Replication;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using Samsa.Storage;

namespace Samsa.Broker.WebConsole;

/// <summary>What the console's JSON API reads and writes: the broker's own image, logs, coordinators and controller.</summary>
public sealed record ConsoleSources(
    int NodeId,
    string ClusterId,
    MetadataCache Metadata,
    ConfigDescriber Describer,
    IController Controller,
    ReplicaManager Replicas,
    GroupCoordinator Groups,
    Func<IReadOnlyDictionary<string, GroupLag>?> Lag,
    ConsoleSampler Sampler);

/// <summary>
/// The console's JSON answers. Everything is read from state published for lock-free readers (the metadata image,
/// log offsets and sizes, the lag monitor's last sample) or on the group coordinator's thread; topics are created
/// through the controller as CreateTopics does; messages are read through the partition's read path (as the Fetch
/// handler reads, up to the high watermark), bounded by <see cref="MaxMessages"/> and <see cref="MaxReadBytes"/>.
/// </summary>
public sealed class ConsoleApi(ConsoleSources sources)
{
    /// <summary>At most this many messages per message browser page.</summary>
    public const int MaxMessages = 500;

    /// <summary>At most this many bytes of log read per message browser page.</summary>
    public const int MaxReadBytes = 4 * 1024 * 1024;

    /// <summary>Keys, values and header values longer than this are cut (and marked so) in the browser.</summary>
    public const int MaxShownBytes = 64 * 1024;

    public object Cluster()
    {
        var image = sources.Metadata.Current;
        var partitions = image.Topics.Values.SelectMany(t => t.Partitions).ToList();
        var lag = sources.Lag();
        var throughput = sources.Sampler.Throughput;
        return new
        {
            clusterId = image.ClusterId,
            nodeId = sources.NodeId,
            controllerId = image.ControllerId,
            brokers = image.Brokers.Values.Select(b => new
            {
                id = b.NodeId,
                endpoints = b.Endpoints.Select(e => $"{e.ListenerName}://{e.Host}:{e.Port}"),
                rack = b.Rack,
                state = b.Fenced ? "fenced" : b.InControlledShutdown ? "shutting down" : "active",
                leaders = partitions.Count(p => p.Leader == b.NodeId),
                replicas = partitions.Count(p => p.Replicas.Contains(b.NodeId)),
            }),
            topicCount = image.Topics.Count,
            partitionCount = partitions.Count,
            underReplicated = partitions.Count(p => p.Isr.Length < p.Replicas.Length),
            offline = partitions.Count(p => p.Leader < 0),
            groupCount = lag?.Count,
            throughput = throughput.IsEmpty ? null : (object)Throughput(throughput.Last()),
        };
    }

    public object Topics()
    {
        var image = sources.Metadata.Current;
        return image.Topics.Values.Select(t =>
        {
            var logs = t.Partitions.Select(p => sources.Replicas.GetPartition(t.Name, p.PartitionIndex).Partition?.Log).ToList();
            return new
            {
                name = t.Name,
                id = t.TopicId.ToString(),
                @internal = t.IsInternal,
                partitions = t.Partitions.Length,
                replicationFactor = t.ReplicationFactor,
                underReplicated = t.Partitions.Count(p => p.Isr.Length < p.Replicas.Length),
                offline = t.Partitions.Count(p => p.Leader < 0),
                sizeBytes = logs.Sum(l => l?.Size ?? 0),
                messages = logs.Sum(l => l is null ? 0 : Math.Max(0, l.HighWatermark - l.LogStartOffset)),
            };
        });
    }

    public object? Topic(string name)
    {
        var image = sources.Metadata.Current;
        if (!image.Topics.TryGetValue(name, out var topic))
        {
            return null;
        }
        return new
        {
            name = topic.Name,
            id = topic.TopicId.ToString(),
            @internal = topic.IsInternal,
            replicationFactor = topic.ReplicationFactor,
            configs = sources.Describer.DescribeTopic(image, name).Select(e => new
            {
                name = e.Name,
                value = e.Sensitive ? null : e.Value,
                source = e.Source.ToString(),
                isDefault = e.Source == ConfigSource.DefaultConfig,
            }),
            partitions = topic.Partitions.Select(p =>
            {
                var log = sources.Replicas.GetPartition(name, p.PartitionIndex).Partition?.Log;
                return new
                {
                    partition = p.PartitionIndex,
                    leader = p.Leader,
                    leaderEpoch = p.LeaderEpoch,
                    replicas = p.Replicas,
                    isr = p.Isr,
                    offlineReplicas = p.OfflineReplicas,
                    underReplicated = p.Isr.Length < p.Replicas.Length,
                    hostedHere = log is not null,
                    logStartOffset = log?.LogStartOffset,
                    highWatermark = log?.HighWatermark,
                    sizeBytes = log?.Size,
                };
            }),
        };
    }

    /// <summary>A topic create as the CreateTopics handler makes it: through the controller, answered once this broker's image has it.</summary>
    public async Task<(bool Created, string? Error)> CreateTopicAsync(string name, int partitions, short replicationFactor,
        IReadOnlyDictionary<string, string> configs, CancellationToken cancellationToken)
    {
        var request = new CreateTopicsRequest
        {
            timeoutMs = 30_000,
            Topics =
            [
                new CreateTopicsRequest.CreatableTopic
                {
                    Name = name,
                    NumPartitions = partitions,
                    ReplicationFactor = replicationFactor,
                    Configs = [.. configs.Select(c => new CreateTopicsRequest.CreatableTopicConfig { Name = c.Key, Value = c.Value })],
                },
            ],
        };
        var response = await sources.Controller.CreateTopicsAsync(request, cancellationToken);
        var result = response.Topics.FirstOrDefault(t => t.Name == name);
        if (result is null || result.ErrorCode != 0)
        {
            var code = (ErrorCode)(result?.ErrorCode ?? (short)ErrorCode.UnknownServerError);
            return (false, string.IsNullOrEmpty(result?.ErrorMessage) ? code.ToString() : $"{code}: {result.ErrorMessage}");
        }
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await sources.Metadata.WaitUntilAsync(image => image.Topics.ContainsKey(name), bounded.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Committed on the controller; this broker's image has it a moment later.
        }
        return (true, null);
    }

    /// <summary>
    /// Up to <paramref name="limit"/> messages of one partition from <paramref name="offset"/> (or from the first at or
    /// after <paramref name="timestampMs"/>; or the last <paramref name="limit"/> when neither is given), up to the
    /// high watermark. Reads the log file: call on a thread-pool thread, never on a socket event thread.
    /// </summary>
    public object Messages(string topic, int partitionIndex, long? offset, long? timestampMs, int limit)
    {
        limit = Math.Clamp(limit, 1, MaxMessages);
        var (partition, error) = sources.Replicas.GetPartition(topic, partitionIndex);
        if (partition?.Log is not { } log)
        {
            return new { error = error == ErrorCode.None ? "This broker holds no replica of the partition" : error.ToString() };
        }
        var logStart = log.LogStartOffset;
        var highWatermark = log.HighWatermark;
        long start;
        if (timestampMs is { } timestamp)
        {
            start = partition.FetchOffsetForTimestamp(log, timestamp)?.Offset ?? highWatermark;
        }
        else if (offset is { } from and >= 0)
        {
            start = from;
        }
        else
        {
            start = highWatermark - limit;
        }
        start = Math.Clamp(start, logStart, Math.Max(logStart, highWatermark));
        var messages = new List<object>();
        var next = start;
        var readBytes = 0;
        using var scratch = new PooledBuffer();
        while (messages.Count < limit && next < highWatermark && readBytes < MaxReadBytes)
        {
            byte[] bytes;
            try
            {
                var info = partition.Read(log, next, Math.Min(1024 * 1024, MaxReadBytes - readBytes), FetchIsolation.HighWatermark, minOneMessage: true);
                bytes = info.Records.ToArray();
            }
            catch (StorageException e)
            {
                // Retention moved the log start past the page, or the replica went away meanwhile: show what was read.
                return new
                {
                    topic,
                    partition = partitionIndex,
                    logStartOffset = log.LogStartOffset,
                    highWatermark,
                    startOffset = start,
                    nextOffset = next,
                    messages,
                    error = $"Reading offset {next}: {e.Message}"
                };
            }
            if (bytes.Length == 0)
            {
                break;
            }
            readBytes += bytes.Length;
            var advanced = next;
            var position = 0;
            while (position < bytes.Length && messages.Count < limit)
            {
                var size = RecordBatch.TotalSize(bytes.AsSpan(position));
                if (size < RecordBatch.HeaderSize || position + size > bytes.Length)
                {
                    break;
                }
                var batch = new RecordBatchView(bytes.AsSpan(position, size));
                position += size;
                advanced = Math.Max(advanced, batch.Header.NextOffset);
                if (batch.Header.IsControl)
                {
                    continue;
                }
                foreach (var record in batch.GetRecords(scratch))
                {
                    var recordOffset = batch.Header.BaseOffset + record.OffsetDelta;
                    if (recordOffset < next || recordOffset >= highWatermark)
                    {
                        continue;
                    }
                    messages.Add(Message(batch.Header, record, recordOffset));
                    advanced = recordOffset + 1;
                    if (messages.Count == limit)
                    {
                        break;
                    }
                }
            }
            if (advanced <= next)
            {
                break;
            }
            next = advanced;
        }
        return new { topic, partition = partitionIndex, logStartOffset = logStart, highWatermark, startOffset = start, nextOffset = next, messages };
    }

    private static object Message(RecordBatchHeader header, Record record, long offset)
    {
        var headers = new List<object>();
        foreach (var h in record.Headers)
        {
            headers.Add(new { key = System.Text.Encoding.UTF8.GetString(h.Key), value = h.ValueIsNull ? null : Bytes(h.Value) });
        }
        return new
        {
            offset,
            timestamp = header.TimestampType == TimestampType.LogAppendTime ? header.MaxTimestamp : header.BaseTimestamp + record.TimestampDelta,
            timestampType = header.TimestampType.ToString(),
            key = record.KeyIsNull ? null : Bytes(record.Key),
            value = record.ValueIsNull ? null : Bytes(record.Value),
            headers,
        };
    }

    /// <summary>Bytes for the browser: base64 of at most <see cref="MaxShownBytes"/>, and the full length.</summary>
    private static object Bytes(ReadOnlySpan<byte> bytes) => new
    {
        base64 = Convert.ToBase64String(bytes[..Math.Min(bytes.Length, MaxShownBytes)]),
        length = bytes.Length,
    };

    public async Task<object> GroupsAsync(CancellationToken cancellationToken)
    {
        var listed = await sources.Groups.RunAsync(() => ValueTask.FromResult(sources.Groups.Shards.Values
            .Where(s => s.Availability == ErrorCode.None)
            .SelectMany(s => s.ListGroups([], []))
            .Select(g => (g.GroupId, g.StateName, Type: g.Type.ToString(), g.ProtocolType))
            .ToList()), cancellationToken);
        var lag = sources.Lag();
        var ids = listed.Select(g => g.GroupId).Union(lag?.Keys ?? [], StringComparer.Ordinal).Order(StringComparer.Ordinal);
        return ids.Select(id =>
        {
            var group = listed.FirstOrDefault(g => g.GroupId == id);
            var groupLag = lag?.GetValueOrDefault(id);
            return new
            {
                groupId = id,
                state = group.StateName ?? "Unknown",
                type = group.Type?.ToLowerInvariant(),
                protocolType = group.ProtocolType,
                totalLag = groupLag?.TotalLag,
                status = groupLag?.Status.ToString().ToUpperInvariant(),
            };
        }).ToList();
    }

    public async Task<object?> GroupAsync(string groupId, CancellationToken cancellationToken)
    {
        var description = await sources.Groups.RunAsync(() =>
        {
            var (shard, _) = sources.Groups.ShardFor(groupId);
            return ValueTask.FromResult(shard?.Describe(groupId));
        }, cancellationToken);
        var lag = sources.Lag()?.GetValueOrDefault(groupId);
        if (description is null && lag is null)
        {
            return null;
        }
        return new
        {
            groupId,
            state = description?.State ?? "Unknown",
            type = description?.Type.ToString().ToLowerInvariant(),
            protocolType = description?.ProtocolType,
            protocol = description?.ProtocolData,
            members = description?.Members.Select(m => new
            {
                memberId = m.MemberId,
                groupInstanceId = m.GroupInstanceId,
                clientId = m.ClientId,
                clientHost = m.ClientHost,
                assignment = Assignment(m.Assignment).Select(a => new { topic = a.Topic, partitions = a.Partitions }),
            }) ?? [],
            status = lag?.Status.ToString().ToUpperInvariant(),
            totalLag = lag?.TotalLag,
            partitions = lag?.Partitions.Select(p => new
            {
                topic = p.Topic,
                partition = p.Partition,
                committedOffset = p.CommittedOffset,
                logEndOffset = p.LogEndOffset,
                lag = p.Lag,
                status = p.Status.ToString().ToUpperInvariant(),
            }) ?? [],
            history = sources.Sampler.LagHistory(groupId).Select(p => new[] { p.TimeMs, p.TotalLag }),
        };
    }

    public object ThroughputHistory() => new
    {
        periodMs = (long)sources.Sampler.Period.TotalMilliseconds,
        samples = sources.Sampler.Throughput.Select(Throughput),
    };

    private static object Throughput(ThroughputSample s) => new
    {
        time = s.TimeMs,
        bytesIn = Math.Round(s.BytesInPerSec, 1),
        messagesIn = Math.Round(s.MessagesInPerSec, 1),
        bytesOut = Math.Round(s.BytesOutPerSec, 1),
    };

    /// <summary>
    /// A consumer's assignment (Kafka's <c>ConsumerProtocolAssignment</c>: int16 version, then topics with their
    /// partitions, non-flexible in every version); empty when the bytes are not one.
    /// </summary>
    public static IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)> Assignment(byte[] bytes)
    {
        if (bytes.Length < 6)
        {
            return [];
        }
        try
        {
            var reader = new ProtocolReader(bytes);
            if (reader.ReadInt16() < 0)
            {
                return [];
            }
            var topics = reader.ReadInt32();
            if (topics < 0 || topics > bytes.Length)
            {
                return [];
            }
            var result = new List<(string, IReadOnlyList<int>)>(topics);
            for (var i = 0; i < topics; i++)
            {
                var topic = reader.ReadString();
                var count = reader.ReadInt32();
                if (count < 0 || count > bytes.Length)
                {
                    return [];
                }
                var partitions = new int[count];
                for (var j = 0; j < count; j++)
                {
                    partitions[j] = reader.ReadInt32();
                }
                result.Add((topic, partitions));
            }
            return result;
        }
        catch (ProtocolException)
        {
            return [];
        }
    }

    internal static int? ParseInt(string? text) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    internal static long? ParseLong(string? text) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
}
