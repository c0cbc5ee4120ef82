using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using static Samsa.Broker.Tests.Replication.ProduceFetchTests;

namespace Samsa.Broker.Tests.Transactions;

/// <summary>
/// Transactions through an in-process broker with requests hand-built as Kafka's Java 3.x/4.x producer sends them without
/// transaction version 2 (FindCoordinator v4 TRANSACTION, InitProducerId v4, AddPartitionsToTxn v3, Produce v9 with the
/// transactional id, EndTxn v3): commits and aborts seen by read_committed, and the error cases of issue 14 with the
/// coordinator's state and the log left unchanged.
/// </summary>
public class TransactionWireTests
{
    private const string Topic = "txn-topic";
    private const short FetchVersion = 12;

    private sealed class Producer(TestClient client, string transactionalId)
    {
        public long ProducerId { get; private set; } = -1;
        public short Epoch { get; private set; } = -1;
        private int _sequence;

        public async Task<short> InitAsync(int timeoutMs = 60_000)
        {
            var response = (await client.RequestAsync<InitProducerIdResponse>(new InitProducerIdRequest
            {
                TransactionalId = transactionalId,
                TransactionTimeoutMs = timeoutMs,
                ProducerId = -1,
                ProducerEpoch = -1,
            }, 4)).Body;
            if (response.ErrorCode == 0)
            {
                (ProducerId, Epoch, _sequence) = (response.ProducerId, response.ProducerEpoch, 0);
            }
            return response.ErrorCode;
        }

        public async Task<short> AddPartitionAsync(int partition = 0) =>
            Assert.Single(Assert.Single((await client.RequestAsync<AddPartitionsToTxnResponse>(new AddPartitionsToTxnRequest
            {
                V3AndBelowTransactionalId = transactionalId,
                V3AndBelowProducerId = ProducerId,
                V3AndBelowProducerEpoch = Epoch,
                V3AndBelowTopics = [new() { Name = Topic, Partitions = [partition] }],
            }, 3)).Body.ResultsByTopicV3AndBelow).ResultsByPartition).PartitionErrorCode;

        public async Task<short> ProduceAsync(string value, int partition = 0, short? epoch = null)
        {
            using var builder = new RecordBatchBuilder { ProducerId = ProducerId, ProducerEpoch = epoch ?? Epoch, BaseSequence = _sequence, IsTransactional = true };
            builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, System.Text.Encoding.UTF8.GetBytes(value));
            var request = Produce(Topic, partition, builder.Build());
            request.TransactionalId = transactionalId;
            var answer = Assert.Single(Assert.Single((await client.RequestAsync<ProduceResponse>(request, 9)).Body.Responses).PartitionResponses);
            if (answer.ErrorCode == 0)
            {
                _sequence++;
            }
            return answer.ErrorCode;
        }

        public async Task<short> EndAsync(bool commit, short version = 3, short? epoch = null) =>
            (await client.RequestAsync<EndTxnResponse>(new EndTxnRequest
            {
                TransactionalId = transactionalId,
                ProducerId = ProducerId,
                ProducerEpoch = epoch ?? Epoch,
                Committed = commit,
            }, version)).Body.ErrorCode;
    }

    private static async Task<(TestBroker Broker, TestClient Client)> StartAsync(params (string Key, string Value)[] overrides)
    {
        var broker = await TestBroker.StartAsync(overrides);
        var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, Topic, partitions: 2);
        return (broker, client);
    }

    /// <summary>FindCoordinator for the id, retried on COORDINATOR_NOT_AVAILABLE (its partition still loading) as clients do.</summary>
    private static async Task FindCoordinatorAsync(TestClient client, string transactionalId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var coordinator = Assert.Single((await client.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest
            {
                KeyType = 1,
                CoordinatorKeys = [transactionalId],
            }, 4)).Body.Coordinators);
            if (coordinator.ErrorCode != (short)ErrorCode.CoordinatorNotAvailable || DateTime.UtcNow > deadline)
            {
                Assert.Equal(0, coordinator.ErrorCode);
                return;
            }
            await Task.Delay(20);
        }
    }

    private static async Task<DescribeTransactionsResponse.TransactionStateData> DescribeAsync(TestClient client, string transactionalId) =>
        Assert.Single((await client.RequestAsync<DescribeTransactionsResponse>(new DescribeTransactionsRequest { TransactionalIds = [transactionalId] }, 0)).Body.TransactionStates);

    private static async Task<FetchResponse.PartitionData> ReadCommittedAsync(TestClient client, int partition = 0)
    {
        var request = Fetch(Topic, 0);
        request.IsolationLevel = 1;
        request.Topics[0].Partitions[0].Partition = partition;
        return Assert.Single(Assert.Single((await client.RequestAsync<FetchResponse>(request, FetchVersion)).Body.Responses).Partitions);
    }

    /// <summary>The markers are written after EndTxn is answered: waits until the last stable offset reaches the high watermark.</summary>
    private static async Task<FetchResponse.PartitionData> WaitStableAsync(TestClient client, int partition = 0)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var fetched = await ReadCommittedAsync(client, partition);
            // Right after a restart the partition may not be open yet (an error, with both offsets -1).
            if (fetched.ErrorCode == 0 && fetched.LastStableOffset == fetched.HighWatermark)
            {
                return fetched;
            }
            Assert.True(DateTime.UtcNow < deadline, $"LSO {fetched.LastStableOffset} stuck below the high watermark {fetched.HighWatermark}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task ACommittedTransaction_IsReadCommitted_AndAnAbortedOneIsListedAsAborted()
    {
        var (broker, client) = await StartAsync();
        await using var _ = broker;
        await using var __ = client;
        await FindCoordinatorAsync(client, "copier-1");
        var producer = new Producer(client, "copier-1");
        Assert.Equal(0, await producer.InitAsync());
        Assert.Equal(0, producer.Epoch);

        Assert.Equal(0, await producer.AddPartitionAsync());
        Assert.Equal(0, await producer.ProduceAsync("committed-1"));
        Assert.Equal(0, await producer.ProduceAsync("committed-2"));
        Assert.Equal("Ongoing", (await DescribeAsync(client, "copier-1")).TransactionState);
        Assert.Equal(0, (await ReadCommittedAsync(client)).LastStableOffset);
        Assert.Equal(0, await producer.EndAsync(commit: true));
        var committed = await WaitStableAsync(client);
        Assert.Equal(3, committed.HighWatermark);
        Assert.Empty(committed.AbortedTransactions!);

        Assert.Equal(0, await producer.AddPartitionAsync());
        Assert.Equal(0, await producer.ProduceAsync("aborted"));
        Assert.Equal(0, await producer.EndAsync(commit: false));
        var aborted = await WaitStableAsync(client);
        Assert.Equal(5, aborted.HighWatermark);
        Assert.Equal((producer.ProducerId, 3L), (Assert.Single(aborted.AbortedTransactions!).ProducerId, aborted.AbortedTransactions![0].FirstOffset));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await DescribeAsync(client, "copier-1")).TransactionState != "CompleteAbort")
        {
            Assert.True(DateTime.UtcNow < deadline, "the transaction did not reach CompleteAbort");
            await Task.Delay(20);
        }
        var listed = (await client.RequestAsync<ListTransactionsResponse>(new ListTransactionsRequest(), 1)).Body;
        Assert.Equal(("copier-1", producer.ProducerId, "CompleteAbort"),
            (Assert.Single(listed.TransactionStates).TransactionalId, listed.TransactionStates[0].ProducerId, listed.TransactionStates[0].TransactionState));
    }

    [Fact]
    public async Task ASecondProducerWithTheSameId_FencesTheFirst_WhoseWritesAndEndTxnAreRefused_WithNothingChanged()
    {
        var (broker, client) = await StartAsync();
        await using var _ = broker;
        await using var __ = client;
        await FindCoordinatorAsync(client, "shared");
        var zombie = new Producer(client, "shared");
        Assert.Equal(0, await zombie.InitAsync());
        Assert.Equal(0, await zombie.AddPartitionAsync());
        Assert.Equal(0, await zombie.ProduceAsync("from-the-zombie"));

        // The newcomer's InitProducerId fences the open transaction: CONCURRENT_TRANSACTIONS until its abort is written.
        var successor = new Producer(client, "shared");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        short error;
        while ((error = await successor.InitAsync()) == (short)ErrorCode.ConcurrentTransactions)
        {
            Assert.True(DateTime.UtcNow < deadline, "InitProducerId kept answering CONCURRENT_TRANSACTIONS");
            await Task.Delay(20);
        }
        Assert.Equal(0, error);
        Assert.True(successor.Epoch > zombie.Epoch);
        var stable = await WaitStableAsync(client);
        Assert.Equal(zombie.ProducerId, Assert.Single(stable.AbortedTransactions!).ProducerId);
        var before = await DescribeAsync(client, "shared");
        var end = broker.Broker.Logs.Get(Topic, 0)!.LogEndOffset;

        Assert.Equal((short)ErrorCode.InvalidProducerEpoch, await zombie.ProduceAsync("still-the-zombie"));
        Assert.Equal((short)ErrorCode.ProducerFenced, await zombie.EndAsync(commit: true, version: 3));
        Assert.Equal((short)ErrorCode.InvalidProducerEpoch, await zombie.EndAsync(commit: true, version: 1));
        Assert.Equal((short)ErrorCode.ProducerFenced, await zombie.AddPartitionAsync(1));

        Assert.Equal(before, await DescribeAsync(client, "shared"));
        Assert.Equal(end, broker.Broker.Logs.Get(Topic, 0)!.LogEndOffset);
    }

    [Fact]
    public async Task ProducingToAPartitionNotAddedToTheTransaction_IsInvalidTxnState_AndWritesNothing()
    {
        var (broker, client) = await StartAsync();
        await using var _ = broker;
        await using var __ = client;
        await FindCoordinatorAsync(client, "careless");
        var producer = new Producer(client, "careless");
        Assert.Equal(0, await producer.InitAsync());
        Assert.Equal(0, await producer.AddPartitionAsync(0));
        var before = await DescribeAsync(client, "careless");

        Assert.Equal((short)ErrorCode.InvalidTxnState, await producer.ProduceAsync("to-partition-1", partition: 1));
        // EndTxn with an epoch that is not the producer's: fenced, nothing changes.
        Assert.Equal((short)ErrorCode.ProducerFenced, await producer.EndAsync(commit: true, epoch: (short)(producer.Epoch + 1)));

        Assert.Equal(0, broker.Broker.Logs.Get(Topic, 1)!.LogEndOffset);
        Assert.Equal(before, await DescribeAsync(client, "careless"));
        Assert.Equal(0, await producer.ProduceAsync("to-partition-0", partition: 0));
    }

    [Fact]
    public async Task ATransactionPastItsTimeout_IsAbortedByTheCoordinator_AndItsProducerIsFenced()
    {
        var (broker, client) = await StartAsync(("transaction.abort.timed.out.transaction.cleanup.interval.ms", "100"));
        await using var _ = broker;
        await using var __ = client;
        await FindCoordinatorAsync(client, "slow");
        var producer = new Producer(client, "slow");
        Assert.Equal(0, await producer.InitAsync(timeoutMs: 500));
        Assert.Equal(0, await producer.AddPartitionAsync());
        Assert.Equal(0, await producer.ProduceAsync("never-committed"));

        var stable = await WaitStableAsync(client);

        Assert.Equal(producer.ProducerId, Assert.Single(stable.AbortedTransactions!).ProducerId);
        Assert.Equal((short)ErrorCode.ProducerFenced, await producer.EndAsync(commit: true));
        var state = await DescribeAsync(client, "slow");
        Assert.True(state.ProducerEpoch > producer.Epoch);
    }

    [Fact]
    public async Task AfterARestart_TheCoordinatorFinishesACommit_AndAbortsAnOpenTransactionPastItsTimeout()
    {
        using var dir = new TempDir();
        var overrides = new[] { ("transaction.abort.timed.out.transaction.cleanup.interval.ms", "100") };
        long committedProducer, openProducer;
        await using (var broker = await TestBroker.StartInAsync(dir, overrides))
        {
            await using var client = await broker.ConnectAsync();
            await CreateTopic(broker, client, Topic, partitions: 2);
            await FindCoordinatorAsync(client, "committer");
            await FindCoordinatorAsync(client, "left-open");
            var committer = new Producer(client, "committer");
            Assert.Equal(0, await committer.InitAsync());
            Assert.Equal(0, await committer.AddPartitionAsync(0));
            Assert.Equal(0, await committer.ProduceAsync("committed"));
            var open = new Producer(client, "left-open");
            Assert.Equal(0, await open.InitAsync(timeoutMs: 2_000));
            Assert.Equal(0, await open.AddPartitionAsync(1));
            Assert.Equal(0, await open.ProduceAsync("open", partition: 1));
            // The broker stops straight after the answer: its markers may or may not be out.
            Assert.Equal(0, await committer.EndAsync(commit: true));
            (committedProducer, openProducer) = (committer.ProducerId, open.ProducerId);
        }

        await using (var broker = await TestBroker.StartInAsync(dir, overrides))
        {
            await using var client = await broker.ConnectAsync();
            await FindCoordinatorAsync(client, "committer");
            var committed = await WaitStableAsync(client, 0);
            Assert.Empty(committed.AbortedTransactions!);
            Assert.True(committed.Records!.Value.Length > 0);
            var aborted = await WaitStableAsync(client, 1);
            Assert.Equal(openProducer, Assert.Single(aborted.AbortedTransactions!).ProducerId);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while ((await DescribeAsync(client, "committer")).TransactionState != "CompleteCommit"
                || (await DescribeAsync(client, "left-open")).TransactionState != "CompleteAbort")
            {
                Assert.True(DateTime.UtcNow < deadline, "the transactions did not complete after the restart");
                await Task.Delay(20);
            }
            Assert.Equal(committedProducer, (await DescribeAsync(client, "committer")).ProducerId);
        }
    }
}
