using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Cli;

/// <summary>
/// The admin client calls behind <c>kafka-transactions.sh</c>, on <see cref="KafkaWireClient"/>: one connection to a
/// bootstrap server for Metadata, one per broker it names for the rest. Errors come back as
/// <see cref="AdminException"/> carrying the error's message as Kafka's exceptions do (the broker's message if it sent
/// one, else the error's default message).
/// </summary>
internal sealed class TransactionsAdmin(string bootstrap) : IDisposable
{
    private const int TransactionKeyType = 1;
    private static readonly TimeSpan RetryFor = TimeSpan.FromSeconds(15);
    private readonly Dictionary<int, KafkaWireClient> _brokers = [];
    private KafkaWireClient? _bootstrap;
    private Dictionary<int, MetadataResponse.MetadataResponseBroker>? _nodes;

    internal sealed class AdminException(ErrorCode code, string message) : Exception(message)
    {
        public ErrorCode Code { get; } = code;
    }

    internal sealed record AbortSpec(string Topic, int Partition, long ProducerId, short ProducerEpoch, int CoordinatorEpoch)
    {
        /// <summary>Kafka's <c>AbortTransactionSpec.toString</c>.</summary>
        public override string ToString() =>
            $"AbortTransactionSpec(topicPartition={Topic}-{Partition}, producerId={ProducerId}, producerEpoch={ProducerEpoch}, coordinatorEpoch={CoordinatorEpoch})";
    }

    internal sealed record TransactionDescription(int CoordinatorId, DescribeTransactionsResponse.TransactionStateData State);

    public static string Message(ErrorCode code, string? message) =>
        string.IsNullOrEmpty(message) ? ErrorCodes.DefaultMessage(code) ?? $"Error {(short)code}" : message;

    private static AdminException Error(short code, string? message = null) => new((ErrorCode)code, Message((ErrorCode)code, message));

    /// <summary>A request on a connection; a connection the broker drops, or an answer it cannot parse, fails the call.</summary>
    private static async Task<T> SendAsync<T>(KafkaWireClient client, IApiMessage request, short version, CancellationToken ct)
        where T : IApiMessage, new()
    {
        try
        {
            return await client.SendAsync<T>(request, version, ct);
        }
        catch (Exception e) when (e is IOException or CommandException or System.Net.Sockets.SocketException)
        {
            throw new AdminException(ErrorCode.NetworkException, $"{request.ApiKey} failed: {e.Message}");
        }
    }

    /// <summary>Metadata for the given topics (null: every topic, internal ones too); remembers the brokers.</summary>
    public async Task<MetadataResponse> MetadataAsync(List<string>? topics, CancellationToken ct)
    {
        _bootstrap ??= await KafkaWireClient.ConnectAnyAsync(bootstrap, ct);
        var response = await SendAsync<MetadataResponse>(_bootstrap, new MetadataRequest
        {
            Topics = topics?.Select(t => new MetadataRequest.MetadataRequestTopic { Name = t }).ToList(),
            AllowAutoTopicCreation = false,
        }, 12, ct);
        _nodes = response.Brokers.ToDictionary(b => b.NodeId);
        return response;
    }

    private async Task<KafkaWireClient> BrokerAsync(int id, CancellationToken ct)
    {
        if (_brokers.TryGetValue(id, out var client))
        {
            return client;
        }
        if (_nodes is null || !_nodes.ContainsKey(id))
        {
            await MetadataAsync([], ct);
        }
        if (!_nodes!.TryGetValue(id, out var node))
        {
            throw new AdminException(ErrorCode.BrokerNotAvailable, $"No broker with id {id} in the cluster metadata");
        }
        client = await KafkaWireClient.ConnectAsync(node.Host, node.Port, ct);
        _brokers[id] = client;
        return client;
    }

    private async Task<List<int>> AllBrokersAsync(CancellationToken ct)
    {
        await MetadataAsync([], ct);
        return [.. _nodes!.Keys.Order()];
    }

    /// <summary>
    /// DescribeProducers for the partitions: each sent to its leader (Kafka's <c>PartitionLeaderStrategy</c>), or all
    /// to <paramref name="brokerId"/> when given. The first partition error fails the call.
    /// </summary>
    public async Task<Dictionary<(string, int), List<DescribeProducersResponse.ProducerState>>> DescribeProducersAsync(
        IReadOnlyCollection<(string Topic, int Partition)> partitions, int? brokerId, CancellationToken ct)
    {
        var targets = new Dictionary<int, List<(string Topic, int Partition)>>();
        if (brokerId is { } id)
        {
            targets[id] = [.. partitions];
        }
        else
        {
            var topics = partitions.Select(p => p.Topic).Distinct().ToList();
            var metadata = await MetadataAsync(topics, ct);
            foreach (var (topic, partition) in partitions)
            {
                var t = metadata.Topics.FirstOrDefault(x => x.Name == topic);
                if (t is null || t.ErrorCode != 0)
                {
                    throw Error(t?.ErrorCode ?? (short)ErrorCode.UnknownTopicOrPartition);
                }
                var p = t.Partitions.FirstOrDefault(x => x.PartitionIndex == partition) ?? throw Error((short)ErrorCode.UnknownTopicOrPartition);
                if (p.LeaderId < 0)
                {
                    throw Error((short)ErrorCode.LeaderNotAvailable);
                }
                (targets.TryGetValue(p.LeaderId, out var list) ? list : targets[p.LeaderId] = []).Add((topic, partition));
            }
        }
        var result = new Dictionary<(string, int), List<DescribeProducersResponse.ProducerState>>();
        foreach (var (broker, list) in targets)
        {
            var client = await BrokerAsync(broker, ct);
            var response = await SendAsync<DescribeProducersResponse>(client, new DescribeProducersRequest
            {
                Topics = list.GroupBy(p => p.Topic).Select(g => new DescribeProducersRequest.TopicRequest { Name = g.Key, PartitionIndexes = g.Select(p => p.Partition).ToList() }).ToList(),
            }, 0, ct);
            foreach (var topic in response.Topics)
            {
                foreach (var partition in topic.Partitions)
                {
                    if (partition.ErrorCode != 0)
                    {
                        throw Error(partition.ErrorCode, partition.ErrorMessage);
                    }
                    result[(topic.Name, partition.PartitionIndex)] = partition.ActiveProducers;
                }
            }
        }
        foreach (var p in partitions.Where(p => !result.ContainsKey(p)))
        {
            throw Error((short)ErrorCode.UnknownTopicOrPartition);
        }
        return result;
    }

    /// <summary>Kafka's <c>AbortTransactionHandler</c>: an abort marker for one producer, written by the partition's leader.</summary>
    public async Task AbortTransactionAsync(AbortSpec spec, CancellationToken ct)
    {
        var metadata = await MetadataAsync([spec.Topic], ct);
        var topic = metadata.Topics.FirstOrDefault(t => t.Name == spec.Topic);
        if (topic is null || topic.ErrorCode != 0)
        {
            throw Error(topic?.ErrorCode ?? (short)ErrorCode.UnknownTopicOrPartition);
        }
        var partition = topic.Partitions.FirstOrDefault(p => p.PartitionIndex == spec.Partition) ?? throw Error((short)ErrorCode.UnknownTopicOrPartition);
        var client = await BrokerAsync(partition.LeaderId, ct);
        var response = await SendAsync<WriteTxnMarkersResponse>(client, new WriteTxnMarkersRequest
        {
            Markers =
            [
                new()
                {
                    ProducerId = spec.ProducerId,
                    ProducerEpoch = spec.ProducerEpoch,
                    TransactionResult = false,
                    CoordinatorEpoch = spec.CoordinatorEpoch,
                    Topics = [new() { Name = spec.Topic, PartitionIndexes = [spec.Partition] }],
                },
            ],
        }, 1, ct);
        var result = response.Markers.SelectMany(m => m.Topics).SelectMany(t => t.Partitions).FirstOrDefault();
        if (result is null)
        {
            throw new AdminException(ErrorCode.UnknownServerError, "WriteTxnMarkers response had no result for the partition");
        }
        if (result.ErrorCode != 0)
        {
            throw Error(result.ErrorCode);
        }
    }

    /// <summary>ListTransactions on every broker (each coordinates its share of transactional ids), by broker id.</summary>
    public async Task<List<(int Broker, List<ListTransactionsResponse.TransactionStateData> Listings)>> ListTransactionsAsync(
        List<long> producerIds, long durationFilter, CancellationToken ct)
    {
        var result = new List<(int, List<ListTransactionsResponse.TransactionStateData>)>();
        foreach (var broker in await AllBrokersAsync(ct))
        {
            var client = await BrokerAsync(broker, ct);
            var deadline = DateTime.UtcNow + RetryFor;
            while (true)
            {
                var response = await SendAsync<ListTransactionsResponse>(client, new ListTransactionsRequest
                {
                    ProducerIdFilters = producerIds,
                    DurationFilter = durationFilter,
                }, (short)(durationFilter >= 0 ? 1 : 0), ct);
                if (response.ErrorCode == (short)ErrorCode.CoordinatorLoadInProgress && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(200, ct);
                    continue;
                }
                if (response.ErrorCode != 0)
                {
                    throw Error(response.ErrorCode);
                }
                result.Add((broker, response.TransactionStates));
                break;
            }
        }
        return result;
    }

    /// <summary>FindCoordinator for a transactional id, retried while the coordinator is loading or moving.</summary>
    private async Task<int> FindTransactionCoordinatorAsync(string transactionalId, CancellationToken ct)
    {
        _bootstrap ??= await KafkaWireClient.ConnectAnyAsync(bootstrap, ct);
        var deadline = DateTime.UtcNow + RetryFor;
        while (true)
        {
            var response = await SendAsync<FindCoordinatorResponse>(_bootstrap, new FindCoordinatorRequest
            {
                KeyType = TransactionKeyType,
                CoordinatorKeys = [transactionalId],
            }, 4, ct);
            var coordinator = response.Coordinators.FirstOrDefault() ?? throw new AdminException(ErrorCode.UnknownServerError, "FindCoordinator response had no coordinator");
            if (coordinator.ErrorCode == 0)
            {
                return coordinator.NodeId;
            }
            if (!IsCoordinatorRetriable(coordinator.ErrorCode) || DateTime.UtcNow >= deadline)
            {
                throw Error(coordinator.ErrorCode, coordinator.ErrorMessage);
            }
            await Task.Delay(200, ct);
        }
    }

    private static bool IsCoordinatorRetriable(short code) =>
        (ErrorCode)code is ErrorCode.CoordinatorNotAvailable or ErrorCode.CoordinatorLoadInProgress or ErrorCode.NotCoordinator;

    /// <summary>DescribeTransactions at the transactional id's coordinator.</summary>
    public async Task<TransactionDescription> DescribeTransactionAsync(string transactionalId, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + RetryFor;
        while (true)
        {
            var coordinator = await FindTransactionCoordinatorAsync(transactionalId, ct);
            var client = await BrokerAsync(coordinator, ct);
            var response = await SendAsync<DescribeTransactionsResponse>(client, new DescribeTransactionsRequest { TransactionalIds = [transactionalId] }, 0, ct);
            var state = response.TransactionStates.FirstOrDefault(s => s.TransactionalId == transactionalId)
                ?? throw new AdminException(ErrorCode.UnknownServerError, "DescribeTransactions response had no state for the transactional id");
            if (state.ErrorCode == 0)
            {
                return new(coordinator, state);
            }
            if (!IsCoordinatorRetriable(state.ErrorCode) || DateTime.UtcNow >= deadline)
            {
                throw Error(state.ErrorCode);
            }
            await Task.Delay(200, ct);
        }
    }

    /// <summary>
    /// Kafka's <c>fenceProducers</c>, behind force-terminate: InitProducerId for the transactional id at its
    /// coordinator, with no producer id or epoch, bumps the epoch and aborts whatever transaction was ongoing.
    /// </summary>
    public async Task FenceProducerAsync(string transactionalId, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + RetryFor;
        while (true)
        {
            var coordinator = await FindTransactionCoordinatorAsync(transactionalId, ct);
            var client = await BrokerAsync(coordinator, ct);
            var response = await SendAsync<InitProducerIdResponse>(client, new InitProducerIdRequest
            {
                TransactionalId = transactionalId,
                TransactionTimeoutMs = 30_000,
                ProducerId = -1,
                ProducerEpoch = -1,
            }, 4, ct);
            if (response.ErrorCode == 0)
            {
                return;
            }
            var retriable = IsCoordinatorRetriable(response.ErrorCode) || (ErrorCode)response.ErrorCode == ErrorCode.ConcurrentTransactions;
            if (!retriable || DateTime.UtcNow >= deadline)
            {
                throw Error(response.ErrorCode);
            }
            await Task.Delay(200, ct);
        }
    }

    /// <summary>A description's partitions in the order of the admin client's <c>HashSet&lt;TopicPartition&gt;</c>.</summary>
    public static IEnumerable<(string Topic, int Partition)> PartitionsInHashOrder(DescribeTransactionsResponse.TransactionStateData state) =>
        JavaHashOrder.OrderByTopicPartition(state.Topics.SelectMany(t => t.Partitions.Select(p => (t.Topic, p))).ToList(), p => p);

    public void Dispose()
    {
        _bootstrap?.Dispose();
        foreach (var client in _brokers.Values)
        {
            client.Dispose();
        }
    }
}
