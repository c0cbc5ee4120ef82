using Samsa.Protocol;
using Samsa.Protocol.Messages;
using static Samsa.Broker.Tests.Groups.Groups;

namespace Samsa.Broker.Tests.Transactions;

/// <summary>
/// <c>sendOffsetsToTransaction</c> end to end, as Kafka's Java producer sends it without transaction version 2:
/// InitProducerId, AddOffsetsToTxn, TxnOffsetCommit, EndTxn, with the transaction coordinator's markers reaching the
/// group's <c>__consumer_offsets</c> partition through the group coordinator.
/// </summary>
public class TransactionalOffsetsEndToEndTests
{
    private const string TransactionalId = "offsets-tx";
    private const string GroupId = "offsets-group";

    private static async Task<(ErrorCode Error, long Offset)> FetchStableAsync(TestClient client)
    {
        var request = new OffsetFetchRequest
        {
            RequireStable = true,
            Groups = [new() { GroupId = GroupId, Topics = [new() { Name = "t", PartitionIndexes = [0] }] }],
        };
        var answer = Assert.Single(Assert.Single(Assert.Single((await client.RequestAsync<OffsetFetchResponse>(request, 8)).Body.Groups).Topics).Partitions);
        return ((ErrorCode)answer.ErrorCode, answer.CommittedOffset);
    }

    /// <summary>The markers go out after EndTxn is answered: waits until require_stable stops answering UNSTABLE_OFFSET_COMMIT.</summary>
    private static async Task<long> WaitStableAsync(TestClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var (error, offset) = await FetchStableAsync(client);
            if (error != ErrorCode.UnstableOffsetCommit)
            {
                Assert.Equal(ErrorCode.None, error);
                return offset;
            }
            Assert.True(DateTime.UtcNow < deadline, "the group's offsets stayed unstable");
            await Task.Delay(20);
        }
    }

    private static async Task<short> SendOffsetsAsync(TestClient client, long producerId, short epoch, long offset)
    {
        // The previous transaction may still be completing (its markers and Complete record): CONCURRENT_TRANSACTIONS,
        // which every client retries.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        short added;
        while ((added = (await client.RequestAsync<AddOffsetsToTxnResponse>(new AddOffsetsToTxnRequest
        {
            TransactionalId = TransactionalId,
            ProducerId = producerId,
            ProducerEpoch = epoch,
            GroupId = GroupId,
        }, 3)).Body.ErrorCode) == (short)ErrorCode.ConcurrentTransactions)
        {
            Assert.True(DateTime.UtcNow < deadline, "the previous transaction never completed");
            await Task.Delay(20);
        }
        Assert.Equal(0, added);
        var committed = (await client.RequestAsync<TxnOffsetCommitResponse>(new TxnOffsetCommitRequest
        {
            TransactionalId = TransactionalId,
            GroupId = GroupId,
            ProducerId = producerId,
            ProducerEpoch = epoch,
            GenerationId = -1,
            Topics = [new() { Name = "t", Partitions = [new() { PartitionIndex = 0, CommittedOffset = offset }] }],
        }, 3)).Body;
        return Assert.Single(Assert.Single(committed.Topics).Partitions).ErrorCode;
    }

    private static async Task<short> EndAsync(TestClient client, long producerId, short epoch, bool commit) =>
        (await client.RequestAsync<EndTxnResponse>(new EndTxnRequest
        {
            TransactionalId = TransactionalId,
            ProducerId = producerId,
            ProducerEpoch = epoch,
            Committed = commit,
        }, 3)).Body.ErrorCode;

    [Fact]
    public async Task OffsetsSentToATransaction_CountOnlyOnceItCommits_AndNotWhenItAborts()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "t");
        await FindCoordinator(broker, client, GroupId);
        Assert.Equal(0, Assert.Single((await client.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest
        {
            KeyType = 1,
            CoordinatorKeys = [TransactionalId],
        }, 4)).Body.Coordinators).ErrorCode);
        var init = (await client.RequestAsync<InitProducerIdResponse>(new InitProducerIdRequest
        {
            TransactionalId = TransactionalId,
            TransactionTimeoutMs = 60_000,
            ProducerId = -1,
            ProducerEpoch = -1,
        }, 4)).Body;
        Assert.Equal(0, init.ErrorCode);

        Assert.Equal(0, await SendOffsetsAsync(client, init.ProducerId, init.ProducerEpoch, 42));
        Assert.Equal((ErrorCode.UnstableOffsetCommit, -1L), await FetchStableAsync(client));
        Assert.Equal(0, await EndAsync(client, init.ProducerId, init.ProducerEpoch, commit: true));
        Assert.Equal(42, await WaitStableAsync(client));

        Assert.Equal(0, await SendOffsetsAsync(client, init.ProducerId, init.ProducerEpoch, 99));
        Assert.Equal(0, await EndAsync(client, init.ProducerId, init.ProducerEpoch, commit: false));
        Assert.Equal(42, await WaitStableAsync(client));
    }
}
