using System.Collections.Immutable;
using Microsoft.Extensions.Time.Testing;
using Samsa.Broker.Quotas;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests.Quotas;

/// <summary>KIP-599's controller_mutation_rate: strict and permissive budgets on a virtual clock, and the three APIs over the wire.</summary>
public sealed class ControllerMutationQuotaTests
{
    private const string Key = "controller_mutation_rate";

    private static ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>> Quotas(params (ClientQuotaEntity Entity, double Value)[] quotas) =>
        quotas.ToImmutableSortedDictionary(q => q.Entity, q => ImmutableSortedDictionary.Create<string, double>(StringComparer.Ordinal).Add(Key, q.Value));

    [Fact]
    public void Strict_AcceptsIntoDebt_ThenRefusesUntilRepaid_PermissiveAlwaysAccepts_AndARefusedItemGivesItsPermitsBack()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_000_000));
        // 2 partitions per second over 2 windows of 1 s: a burst of 4.
        var image = MetadataImage.Empty("c") with { ClientQuotas = Quotas((ClientQuotaEntity.OfClientId(null), 2)) };
        var quota = new ControllerMutationQuota(() => image, samples: 2, windowSeconds: 1, clock);

        var strict = quota.Begin("ANONYMOUS", "admin", apiVersion: 6, strictSinceVersion: 6);
        Assert.True(strict.IsStrict);
        Assert.True(strict.TryReserve(5));   // not in debt: accepted however deep it goes (4 - 5 = -1)
        Assert.False(strict.TryReserve(1));  // in debt: THROTTLING_QUOTA_EXCEEDED
        Assert.Equal(500, strict.ThrottleTimeMs); // a debt of 1 at 2 per second
        clock.Advance(TimeSpan.FromMilliseconds(500));
        var next = quota.Begin("ANONYMOUS", "admin", 6, 6);
        Assert.True(next.TryReserve(1));
        Assert.Equal(0, next.ThrottleTimeMs); // accepted into debt, not throttled: the next request is refused instead

        // Below the strict version the same client is accepted and throttled: debt 1 + 2 at 2 per second.
        var permissive = quota.Begin("ANONYMOUS", "admin", apiVersion: 5, strictSinceVersion: 6);
        Assert.False(permissive.IsStrict);
        Assert.True(permissive.TryReserve(2));
        Assert.Equal(1500, permissive.ThrottleTimeMs);
        // An item the controller refused spends nothing.
        permissive.Settle(reserved: 2, spent: 0);
        Assert.Equal(500, permissive.ThrottleTimeMs);

        // A client with no quota is never refused.
        var free = new ControllerMutationQuota(() => MetadataImage.Empty("c"), 2, 1, clock).Begin("ANONYMOUS", "x", 6, 6);
        Assert.True(free.TryReserve(1_000_000));
        Assert.Equal(0, free.ThrottleTimeMs);
    }

    [Fact]
    public async Task CreateTopics_DeleteTopics_CreatePartitions_OverTheQuota_AreThrottlingQuotaExceeded_FromTheStrictVersions_AndThrottledBelow()
    {
        await using var broker = await TestBroker.StartAsync(("quota.window.num", "2"), ("quota.window.size.seconds", "1"));
        // One partition per second, a burst of 2, for every client id.
        await QuotaWire.SetQuotaAsync(broker, "client-id", null, Key, 1);

        // CreateTopics v6 (strict): "a" (3 partitions) starts out of debt and is created, taking the client to -1;
        // "b" is refused with THROTTLING_QUOTA_EXCEEDED and the response throttles for the debt (1 s).
        await using (var client = await broker.ConnectAsync())
        {
            var created = await QuotaWire.SendAsync<CreateTopicsResponse>(client, CreateTopics(("a", 3), ("b", 1)), 6, "creator");
            Assert.Equal(0, created.Topics.Single(t => t.Name == "a").ErrorCode);
            var refused = created.Topics.Single(t => t.Name == "b");
            Assert.Equal((short)ErrorCode.ThrottlingQuotaExceeded, refused.ErrorCode);
            Assert.Equal("The throttling quota has been exceeded.", refused.ErrorMessage);
            Assert.InRange(created.ThrottleTimeMs, 1, 1000);
        }

        // CreateTopics v5 (permissive): both topics are created and the response throttles for the debt (2 - 4: 2 s).
        await using (var client = await broker.ConnectAsync())
        {
            var created = await QuotaWire.SendAsync<CreateTopicsResponse>(client, CreateTopics(("c", 3), ("d", 1)), 5, "old-creator");
            Assert.All(created.Topics, t => Assert.Equal(0, t.ErrorCode));
            Assert.InRange(created.ThrottleTimeMs, 1001, 2000);
        }

        // DeleteTopics v5 (strict): "a" (3 partitions) is deleted, "c" refused.
        await using (var client = await broker.ConnectAsync())
        {
            var deleted = await QuotaWire.SendAsync<DeleteTopicsResponse>(client, new DeleteTopicsRequest { TopicNames = ["a", "c"], TimeoutMs = 5000 }, 5, "deleter");
            Assert.Equal(0, deleted.Responses.Single(t => t.Name == "a").ErrorCode);
            Assert.Equal((short)ErrorCode.ThrottlingQuotaExceeded, deleted.Responses.Single(t => t.Name == "c").ErrorCode);
            Assert.InRange(deleted.ThrottleTimeMs, 1, 1000);
        }

        // CreatePartitions v3 (strict): "d" grows by 3 and is accepted, "c" is refused.
        await using (var client = await broker.ConnectAsync())
        {
            var grown = await QuotaWire.SendAsync<CreatePartitionsResponse>(client, new CreatePartitionsRequest
            {
                Topics = [new CreatePartitionsRequest.CreatePartitionsTopic { Name = "d", Count = 4, Assignments = null }, new CreatePartitionsRequest.CreatePartitionsTopic { Name = "c", Count = 4, Assignments = null }],
                TimeoutMs = 5000,
            }, 3, "grower");
            Assert.Equal(0, grown.Results.Single(t => t.Name == "d").ErrorCode);
            Assert.Equal((short)ErrorCode.ThrottlingQuotaExceeded, grown.Results.Single(t => t.Name == "c").ErrorCode);
            Assert.InRange(grown.ThrottleTimeMs, 1, 1000);
        }

        // A topic the controller refuses spends nothing: "d" (3, already there) is given back, so the next request's
        // "e" and "f" find the whole burst of 2.
        await using (var client = await broker.ConnectAsync())
        {
            var again = await QuotaWire.SendAsync<CreateTopicsResponse>(client, CreateTopics(("d", 3)), 6, "retrier");
            Assert.Equal((short)ErrorCode.TopicAlreadyExists, again.Topics.Single().ErrorCode);
            Assert.Equal(0, again.ThrottleTimeMs);
            var next = await QuotaWire.SendAsync<CreateTopicsResponse>(client, CreateTopics(("e", 1), ("f", 1)), 6, "retrier", 2);
            Assert.All(next.Topics, t => Assert.Equal(0, t.ErrorCode));
        }
    }

    private static CreateTopicsRequest CreateTopics(params (string Name, int Partitions)[] topics) => new()
    {
        Topics = [.. topics.Select(t => new CreateTopicsRequest.CreatableTopic { Name = t.Name, NumPartitions = t.Partitions, ReplicationFactor = 1 })],
        timeoutMs = 5000,
    };
}
