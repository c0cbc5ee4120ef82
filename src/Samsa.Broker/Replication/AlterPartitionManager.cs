using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Cluster;
using Samsa.Metadata.Controller;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Replication;

/// <summary>
/// Sends the ISR changes leaders propose to the controller (Kafka's <c>AlterPartitionManager</c>): AlterPartition v3
/// with this broker's epoch and each new member's broker epoch (KIP-903), the changes queued meanwhile batched into
/// the next request. A change is done once the image carries it (the partition forgets it when its partition epoch
/// moves past the one the change was made from); a refused or failed one is handed back to its partition, which may
/// propose again.
/// </summary>
public sealed class AlterPartitionManager : IAsyncDisposable
{
    public const short Version = 3;

    private readonly IController _controller;
    private readonly int _nodeId;
    private readonly Func<long> _brokerEpoch;
    private readonly ILogger _logger;
    private readonly Channel<IsrChange> _queue = Channel.CreateUnbounded<IsrChange>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _running;

    public AlterPartitionManager(IController controller, int nodeId, Func<long> brokerEpoch, ILogger logger)
    {
        _controller = controller;
        _nodeId = nodeId;
        _brokerEpoch = brokerEpoch;
        _logger = logger;
        _running = Task.Run(() => RunAsync(_stopping.Token));
    }

    public void Submit(IsrChange change)
    {
        if (!_queue.Writer.TryWrite(change))
        {
            change.Partition.IsrChangeFailed(change);
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync(cancellationToken))
        {
            var batch = new List<IsrChange>();
            while (reader.TryRead(out var change))
            {
                batch.Add(change);
            }
            await SendAsync(batch, cancellationToken);
        }
    }

    private async Task SendAsync(List<IsrChange> batch, CancellationToken cancellationToken)
    {
        var request = new AlterPartitionRequest { BrokerId = _nodeId, BrokerEpoch = _brokerEpoch() };
        foreach (var topic in batch.GroupBy(c => c.Partition.TopicId))
        {
            var data = new AlterPartitionRequest.TopicData { TopicId = topic.Key, TopicName = topic.First().Partition.Topic };
            foreach (var change in topic)
            {
                data.Partitions.Add(new AlterPartitionRequest.PartitionData
                {
                    PartitionIndex = change.Partition.Index,
                    LeaderEpoch = change.LeaderEpoch,
                    PartitionEpoch = change.PartitionEpoch,
                    NewIsrWithEpochs = [.. change.NewIsr.Select(m => new AlterPartitionRequest.BrokerState { BrokerId = m.BrokerId, BrokerEpoch = m.BrokerEpoch })],
                });
            }
            request.Topics.Add(data);
        }
        AlterPartitionResponse response;
        try
        {
            response = await _controller.AlterPartitionAsync(request, Version, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            IsrLog.AlterPartitionFailed(_logger, batch.Count, e.Message);
            batch.ForEach(c => c.Partition.IsrChangeFailed(c));
            return;
        }
        var byKey = batch.ToDictionary(c => (c.Partition.TopicId, c.Partition.Index));
        foreach (var topic in response.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                if (!byKey.Remove((topic.TopicId, partition.PartitionIndex), out var change))
                {
                    continue;
                }
                var error = response.ErrorCode != 0 ? (ErrorCode)response.ErrorCode : (ErrorCode)partition.ErrorCode;
                if (error != ErrorCode.None)
                {
                    IsrLog.IsrChangeRefused(_logger, change.Partition.Topic, change.Partition.Index, string.Join(",", change.NewIsr.Select(m => m.BrokerId)), error);
                    change.Partition.IsrChangeFailed(change);
                }
                else
                {
                    IsrLog.IsrChanged(_logger, change.Partition.Topic, change.Partition.Index, string.Join(",", partition.Isr), partition.PartitionEpoch);
                }
            }
        }
        // Partitions the answer left out are as good as refused.
        foreach (var change in byKey.Values)
        {
            change.Partition.IsrChangeFailed(change);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        _stopping.Cancel();
        try
        {
            await _running;
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>ISR change log lines; event ids 530-539 are stable.</summary>
internal static partial class IsrLog
{
    [LoggerMessage(EventId = 530, Level = LogLevel.Information, Message = "ISR of {Topic}-{Partition} is now [{Isr}] (partition epoch {PartitionEpoch})")]
    public static partial void IsrChanged(ILogger logger, string topic, int partition, string isr, int partitionEpoch);

    [LoggerMessage(EventId = 531, Level = LogLevel.Information, Message = "ISR change of {Topic}-{Partition} to [{Isr}] refused: {Error}")]
    public static partial void IsrChangeRefused(ILogger logger, string topic, int partition, string isr, ErrorCode error);

    [LoggerMessage(EventId = 532, Level = LogLevel.Warning, Message = "AlterPartition for {Count} partitions failed: {Reason}")]
    public static partial void AlterPartitionFailed(ILogger logger, int count, string reason);
}
