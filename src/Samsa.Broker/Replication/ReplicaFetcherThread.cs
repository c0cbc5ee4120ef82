using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Cluster;
using Samsa.Broker.Network;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using Samsa.Storage;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Replication;

/// <summary>
/// Copies the partitions one source broker leads into this node's logs (Kafka's <c>ReplicaFetcherThread</c> on its
/// <c>AbstractFetcherThread</c> loop): one Fetch (v15, topic ids, <c>ReplicaState</c> with this broker's epoch) for
/// all of them from their log end offsets with the last fetched epoch; appends the leader's batches byte for byte
/// (offsets and epochs as the leader wrote them), takes the leader's high watermark and log start offset, and
/// truncates where the leader says the logs diverge (KIP-279). Runs as one task; a partition whose fetch failed
/// waits <c>replica.fetch.backoff.ms</c>.
/// </summary>
public sealed class ReplicaFetcherThread : IAsyncDisposable
{
    /// <summary>The version sent: topic ids, last fetched epoch and ReplicaState (KIP-903 broker epoch).</summary>
    public const short FetchVersion = 15;

    private readonly int _sourceBroker;
    private readonly MetadataCache _metadata;
    private readonly NetworkClient _client;
    private readonly ReplicaFetcherConfig _config;
    private readonly Func<long> _brokerEpoch;
    private readonly Action<TopicPartition> _appended;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<TopicPartition, FetchState> _partitions = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private Task _running = Task.CompletedTask;
    private int _consecutiveFailures;

    public ReplicaFetcherThread(int sourceBroker, MetadataCache metadata, NetworkClient client, ReplicaFetcherConfig config, Func<long> brokerEpoch,
        Action<TopicPartition> appended, TimeProvider time, ILogger logger)
    {
        _sourceBroker = sourceBroker;
        _metadata = metadata;
        _client = client;
        _config = config;
        _brokerEpoch = brokerEpoch;
        _appended = appended;
        _time = time;
        _logger = logger;
    }

    /// <summary>One followed partition: the leader epoch it is fetched in, and when it may be fetched again after an error.</summary>
    private sealed class FetchState(Partition partition, int leaderEpoch)
    {
        public Partition Partition => partition;

        public int LeaderEpoch => leaderEpoch;

        public long DelayedUntilMs { get; set; }
    }

    public bool IsEmpty => _partitions.IsEmpty;

    public void Start() => _running = Task.Run(() => RunAsync(_stopping.Token));

    public void AddOrUpdate(Partition partition, int leaderEpoch)
    {
        _partitions[partition.TopicPartition] = new FetchState(partition, leaderEpoch);
        _wake.Release();
    }

    public void Remove(TopicPartition tp) => _partitions.TryRemove(tp, out _);

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await FetchOnceAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Unreachable leader, timeout, or a response that cannot be used: every partition backs off.
                if (++_consecutiveFailures is 1 or 10 or 100)
                {
                    FetcherLog.FetchFailed(_logger, _config.NodeId, _sourceBroker, _consecutiveFailures, e.Message);
                }
                var until = NowMs + (long)_config.Backoff.TotalMilliseconds;
                foreach (var state in _partitions.Values)
                {
                    state.DelayedUntilMs = until;
                }
            }
        }
    }

    private async Task FetchOnceAsync(CancellationToken cancellationToken)
    {
        var now = NowMs;
        var ready = new List<FetchState>();
        var nextReady = long.MaxValue;
        foreach (var state in _partitions.Values)
        {
            if (state.Partition.Log is null)
            {
                continue;
            }
            if (state.DelayedUntilMs <= now)
            {
                ready.Add(state);
            }
            else
            {
                nextReady = Math.Min(nextReady, state.DelayedUntilMs);
            }
        }
        if (ready.Count == 0)
        {
            var wait = nextReady == long.MaxValue ? TimeSpan.FromSeconds(1) : TimeSpan.FromMilliseconds(Math.Clamp(nextReady - now, 1, 1000));
            await _wake.WaitAsync(wait, cancellationToken);
            return;
        }
        if (_metadata.Current.Brokers.GetValueOrDefault(_sourceBroker)?.Endpoint(_config.ListenerName) is not { } endpoint)
        {
            throw new InvalidOperationException($"broker {_sourceBroker} has no {_config.ListenerName} endpoint in the metadata");
        }
        var request = BuildRequest(ready);
        var response = await _client.SendAsync<FetchResponse>(new NodeEndpoint(_sourceBroker, endpoint.Host, endpoint.Port), request, FetchVersion,
            cancellationToken, _config.RequestTimeout + TimeSpan.FromMilliseconds(_config.MaxWaitMs));
        if (response.ErrorCode != 0)
        {
            throw new InvalidOperationException($"fetch answered {(ErrorCode)response.ErrorCode}");
        }
        _consecutiveFailures = 0;
        var byKey = ready.ToDictionary(s => (s.Partition.TopicId, s.Partition.Index));
        foreach (var topic in response.Responses)
        {
            foreach (var data in topic.Partitions)
            {
                if (byKey.TryGetValue((topic.TopicId, data.PartitionIndex), out var state)
                    && _partitions.TryGetValue(state.Partition.TopicPartition, out var current) && ReferenceEquals(current, state))
                {
                    Process(state, data);
                }
            }
        }
    }

    private FetchRequest BuildRequest(List<FetchState> ready)
    {
        var request = new FetchRequest
        {
            ReplicaState = new FetchRequest.ReplicaStateData { ReplicaId = _config.NodeId, ReplicaEpoch = _brokerEpoch() },
            MaxWaitMs = _config.MaxWaitMs,
            MinBytes = _config.MinBytes,
            MaxBytes = _config.MaxBytes,
            IsolationLevel = 0,
            SessionId = 0,
            SessionEpoch = -1,
        };
        foreach (var group in ready.GroupBy(s => s.Partition.TopicId))
        {
            var topic = new FetchRequest.FetchTopic { TopicId = group.Key, Topic = group.First().Partition.Topic };
            foreach (var state in group)
            {
                var log = state.Partition.Log!;
                topic.Partitions.Add(new FetchRequest.FetchPartition
                {
                    Partition = state.Partition.Index,
                    CurrentLeaderEpoch = state.LeaderEpoch,
                    FetchOffset = log.LogEndOffset,
                    LastFetchedEpoch = log.LeaderEpochCache.LatestEpoch ?? -1,
                    LogStartOffset = log.LogStartOffset,
                    PartitionMaxBytes = _config.PartitionMaxBytes,
                });
            }
            request.Topics.Add(topic);
        }
        return request;
    }

    private void Process(FetchState state, FetchResponse.PartitionData data)
    {
        var error = (ErrorCode)data.ErrorCode;
        var appended = false;
        var done = state.Partition.RunAsFollower(state.LeaderEpoch, log =>
        {
            switch (error)
            {
                case ErrorCode.None when data.DivergingEpoch.Epoch >= 0 || data.DivergingEpoch.EndOffset >= 0:
                    TruncateOnDivergence(state, log, data.DivergingEpoch);
                    return;
                case ErrorCode.None:
                    appended = Append(state, log, data);
                    return;
                case ErrorCode.OffsetOutOfRange:
                    HandleOutOfRange(state, log, data);
                    return;
                default:
                    // Not (or no longer) the leader in this epoch, an epoch one side has not seen yet, a storage
                    // error: wait for the metadata to move on, or retry after the back-off.
                    state.DelayedUntilMs = NowMs + (long)_config.Backoff.TotalMilliseconds;
                    return;
            }
        });
        if (!done)
        {
            // Became leader, or the epoch moved on: the manager reassigns it.
            state.DelayedUntilMs = NowMs + (long)_config.Backoff.TotalMilliseconds;
        }
        if (appended)
        {
            _appended(state.Partition.TopicPartition);
        }
    }

    /// <summary>Appends the whole batches at and after the log end offset; false when nothing was appended.</summary>
    private bool Append(FetchState state, PartitionLog log, FetchResponse.PartitionData data)
    {
        var appended = false;
        if (data.Records is { Length: > 0 } records)
        {
            // The response buffer is this fetch's own: the log may read it in place.
            var span = MemoryMarshal.AsMemory(records).Span;
            var logEnd = log.LogEndOffset;
            int start = 0, end = 0, position = 0;
            var first = true;
            while (RecordBatch.TotalSize(span[position..]) is var size and > 0 && position + size <= span.Length && span.Length - position >= RecordBatch.HeaderSize)
            {
                var header = RecordBatchHeader.Read(span[position..]);
                if (header.LastOffset < logEnd)
                {
                    // Already here (the leader answered from the batch holding the fetch offset).
                    position += size;
                    start = end = position;
                    continue;
                }
                if (first && header.BaseOffset != logEnd)
                {
                    FetcherLog.OffsetMismatch(_logger, state.Partition.Topic, state.Partition.Index, logEnd, header.BaseOffset);
                    state.DelayedUntilMs = NowMs + (long)_config.Backoff.TotalMilliseconds;
                    return false;
                }
                first = false;
                position += size;
                end = position;
            }
            if (end > start)
            {
                log.AppendAsFollower(span[start..end]);
                appended = true;
            }
        }
        // The follower's high watermark is the leader's, bounded by what it holds; its log start follows the leader's.
        log.UpdateHighWatermark(Math.Min(data.HighWatermark, log.LogEndOffset));
        if (data.LogStartOffset > log.LogStartOffset && Math.Min(data.LogStartOffset, log.HighWatermark) > log.LogStartOffset)
        {
            log.DeleteRecordsBefore(Math.Min(data.LogStartOffset, log.HighWatermark));
        }
        return appended;
    }

    /// <summary>
    /// KIP-279: the leader's log ends epoch <c>diverging.Epoch</c> at <c>diverging.EndOffset</c>. Truncate to where
    /// both logs agree: the end of that epoch here too if this log has it, else the end of this log's largest epoch
    /// below it (the next fetch then compares again); with no such epoch here, the high watermark.
    /// </summary>
    private void TruncateOnDivergence(FetchState state, PartitionLog log, FetchResponse.EpochEndOffset diverging)
    {
        long target;
        if (diverging.EndOffset < 0 || diverging.Epoch < 0)
        {
            target = Math.Min(log.HighWatermark, log.LogEndOffset);
        }
        else
        {
            var (localEpoch, localEnd) = log.LeaderEpochCache.EndOffsetFor(diverging.Epoch, log.LogEndOffset);
            target = localEnd < 0 ? Math.Min(log.HighWatermark, log.LogEndOffset)
                : localEpoch == diverging.Epoch ? Math.Min(diverging.EndOffset, localEnd)
                : localEnd;
        }
        FetcherLog.Truncating(_logger, state.Partition.Topic, state.Partition.Index, log.LogEndOffset, target, diverging.Epoch, diverging.EndOffset);
        log.TruncateTo(target);
    }

    /// <summary>
    /// The fetch offset is outside the leader's log: below its start (retention or DeleteRecords moved it), so this log
    /// starts over there; or past its end (this replica holds records the leader lost), so this log goes back to the
    /// leader's high watermark and copies the rest again.
    /// </summary>
    private void HandleOutOfRange(FetchState state, PartitionLog log, FetchResponse.PartitionData data)
    {
        if (data.LogStartOffset >= 0 && log.LogEndOffset < data.LogStartOffset)
        {
            FetcherLog.Truncating(_logger, state.Partition.Topic, state.Partition.Index, log.LogEndOffset, data.LogStartOffset, -1, -1);
            log.TruncateFullyAndStartAt(data.LogStartOffset);
        }
        else if (data.HighWatermark >= 0 && data.HighWatermark < log.LogEndOffset)
        {
            FetcherLog.Truncating(_logger, state.Partition.Topic, state.Partition.Index, log.LogEndOffset, data.HighWatermark, -1, -1);
            log.TruncateTo(data.HighWatermark);
        }
        else
        {
            state.DelayedUntilMs = NowMs + (long)_config.Backoff.TotalMilliseconds;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            _stopping.Cancel();
        }
        try
        {
            await _running;
        }
        catch (OperationCanceledException)
        {
        }
        _partitions.Clear();
    }
}

/// <summary>Follower fetcher log lines; event ids 520-529 are stable.</summary>
internal static partial class FetcherLog
{
    [LoggerMessage(EventId = 520, Level = LogLevel.Information, Message = "Broker {NodeId}: fetch from leader {Leader} failed ({Failures} in a row): {Reason}")]
    public static partial void FetchFailed(ILogger logger, int nodeId, int leader, int failures, string reason);

    [LoggerMessage(EventId = 521, Level = LogLevel.Information, Message = "Truncating {Topic}-{Partition} from {LogEnd} to {Target} (leader's epoch {Epoch} ends at {EndOffset})")]
    public static partial void Truncating(ILogger logger, string topic, int partition, long logEnd, long target, int epoch, long endOffset);

    [LoggerMessage(EventId = 522, Level = LogLevel.Warning, Message = "Follower of {Topic}-{Partition} at log end {LogEnd} got a batch at {BaseOffset}; fetching again")]
    public static partial void OffsetMismatch(ILogger logger, string topic, int partition, long logEnd, long baseOffset);
}
