using Samsa.Broker.Security;
using Samsa.Protocol;
using Samsa.Protocol.Tests.Generated;

namespace Samsa.Broker.Tests.Security;

/// <summary>
/// Issue 17's rule that no API can be added without an authorization decision: every API key the broker serves is
/// sent, as random but well-formed requests from the generated samples, by a principal the authorizer refuses
/// everything; each must ask the authorizer at least once, apart from the few Kafka answers to anyone.
/// </summary>
public sealed class AuthorizationCoverageTests
{
    /// <summary>Keys Kafka serves without an authorization decision, and why.</summary>
    private static readonly Dictionary<ApiKey, string> Exempt = new()
    {
        [ApiKey.ApiVersions] = "answered before authentication, as in Kafka",
        [ApiKey.SaslHandshake] = "part of authentication",
        [ApiKey.SaslAuthenticate] = "part of authentication",
        [ApiKey.GetTelemetrySubscriptions] = "Kafka's ClientMetricsManager authorizes no client telemetry",
        [ApiKey.PushTelemetry] = "Kafka's ClientMetricsManager authorizes no client telemetry",
        // A filter over the broker's transactions (DESCRIBE on each id); this broker has none to filter. Its denials
        // are covered in GroupAndTransactionAuthorizationTests.
        [ApiKey.ListTransactions] = "filters existing transactions, of which this broker has none",
    };

    /// <summary>Refuses everything and counts the questions.</summary>
    private sealed class DenyAllAuthorizer : IAuthorizer
    {
        private int _decisions;

        public int Decisions => Volatile.Read(ref _decisions);

        public bool Authorize(AuthorizationSubject subject, AclOperation operation, AclResourceType resourceType, string resourceName)
        {
            Interlocked.Increment(ref _decisions);
            return false;
        }

        public bool AuthorizeByResourceType(AuthorizationSubject subject, AclOperation operation, AclResourceType resourceType)
        {
            Interlocked.Increment(ref _decisions);
            return false;
        }
    }

    /// <summary>
    /// Config requests carry a resource type byte that random values almost never make valid, and Kafka refuses an
    /// unknown type as a malformed request before any authorization: make every resource a topic.
    /// </summary>
    private static IApiMessage WithKnownResourceTypes(IApiMessage request)
    {
        const sbyte topic = 2;
        switch (request)
        {
            case Samsa.Protocol.Messages.AlterConfigsRequest alter:
                alter.Resources.ForEach(r => r.ResourceType = topic);
                break;
            case Samsa.Protocol.Messages.IncrementalAlterConfigsRequest incremental:
                incremental.Resources.ForEach(r => r.ResourceType = topic);
                break;
            case Samsa.Protocol.Messages.DescribeConfigsRequest describe:
                describe.Resources.ForEach(r => r.ResourceType = topic);
                break;
        }
        return request;
    }

    [Fact]
    public async Task EveryServedApi_AsksTheAuthorizer_AndARefusedPrincipalLeavesTheBrokerServing()
    {
        await using var broker = await TestBroker.StartAsync();
        var authorizer = new DenyAllAuthorizer();
        broker.Broker.Dispatcher.Authorizer = authorizer;
        var samples = MessageSamples.Messages.ToDictionary(s => s.Schema);
        var undecided = new List<string>();
        var correlation = 0;
        foreach (var handler in broker.Broker.Dispatcher.Served)
        {
            if (Exempt.ContainsKey(handler.ApiKey))
            {
                continue;
            }
            var sample = samples.Values.Single(s => s.Schema.EndsWith("/" + ApiMessages.CreateRequest(handler.ApiKey).GetType().Name + ".json", StringComparison.Ordinal));
            var decided = false;
            // Random requests may be empty; a few seeds over the served versions find one that names a resource.
            for (var seed = 0; seed < 64 && !decided; seed++)
            {
                var version = (short)(handler.MinVersion + (seed % (handler.MaxVersion - handler.MinVersion + 1)));
                var request = WithKnownResourceTypes((IApiMessage)sample.Build(new Random(seed * 7919 + (int)handler.ApiKey), version));
                var before = authorizer.Decisions;
                await using var client = await broker.ConnectAsync();
                await client.SendRawAsync(TestClient.EncodeRequest(request, version, ++correlation));
                // An answer, or a close (acks=0 produce, a request the broker refuses to parse), within a bound.
                await client.ReadFrameAsync(TimeSpan.FromSeconds(5));
                decided = authorizer.Decisions > before;
            }
            if (!decided)
            {
                undecided.Add(handler.ApiKey.ToString());
            }
        }
        Assert.True(undecided.Count == 0, $"Served without an authorization decision: {string.Join(", ", undecided)}");

        // Everything above was refused; the broker still answers.
        await using var probe = await broker.ConnectAsync();
        var (_, versions) = await probe.RequestAsync<Samsa.Protocol.Messages.ApiVersionsResponse>(new Samsa.Protocol.Messages.ApiVersionsRequest { ClientSoftwareName = "probe", ClientSoftwareVersion = "1.0" }, 3, 1);
        Assert.Equal(0, versions.ErrorCode);
    }
}
