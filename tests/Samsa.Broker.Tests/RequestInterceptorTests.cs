using Samsa.Broker.Handlers;
using Samsa.Broker.Tests.Replication;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Broker.Tests;

/// <summary>
/// The dispatcher's test hook (issue 19): consulted after the connection-level checks and before the handler, it can
/// let a request through, answer it with the API's error response or a response of its own, or close the connection.
/// </summary>
public sealed class RequestInterceptorTests
{
    private sealed class Scripted(Func<RequestContext, IApiMessage, Interception> decide) : IRequestInterceptor
    {
        public int Seen;

        public ValueTask<Interception> InterceptAsync(RequestContext context, IApiMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Seen);
            return ValueTask.FromResult(decide(context, request));
        }
    }

    private static byte[] Batch(string value)
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(0, null, System.Text.Encoding.UTF8.GetBytes(value));
        return builder.Build();
    }

    [Fact]
    public async Task FailedProduce_GetsTheProduceErrorResponse_WritesNothing_AndTheConnectionCarriesOn()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await ProduceFetchTests.CreateTopic(broker, client, "orders");
        var failed = 0;
        var hook = new Scripted((context, _) => context.ApiKey == ApiKey.Produce && Interlocked.Increment(ref failed) == 1
            ? Interception.Fail(ErrorCode.NotLeaderOrFollower)
            : Interception.Continue);
        broker.Broker.Dispatcher.Interceptor = hook;

        var (_, refused) = await client.RequestAsync<ProduceResponse>(ProduceFetchTests.Produce("orders", 0, Batch("a")), 9, 2);
        var partition = Assert.Single(Assert.Single(refused.Responses).PartitionResponses);
        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, partition.ErrorCode);
        Assert.Equal(0, broker.Broker.Logs.Get("orders", 0)!.LogEndOffset);

        var (_, accepted) = await client.RequestAsync<ProduceResponse>(ProduceFetchTests.Produce("orders", 0, Batch("b")), 9, 3);
        Assert.Equal(0, Assert.Single(Assert.Single(accepted.Responses).PartitionResponses).ErrorCode);
        Assert.Equal(1, broker.Broker.Logs.Get("orders", 0)!.LogEndOffset);
        Assert.Equal(2, hook.Seen);
    }

    [Fact]
    public async Task CloseConnection_ClosesOnlyThatConnection_WithoutAnAnswer()
    {
        await using var broker = await TestBroker.StartAsync();
        broker.Broker.Dispatcher.Interceptor = new Scripted((context, _) =>
            context.ApiKey == ApiKey.FindCoordinator ? Interception.CloseConnection : Interception.Continue);
        await using var closed = await broker.ConnectAsync();
        await using var other = await broker.ConnectAsync();

        await closed.SendRawAsync(TestClient.EncodeRequest(new FindCoordinatorRequest { Key = "group" }, 3, 1));
        Assert.True(await closed.WaitForCloseAsync());
        var (_, versions) = await other.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 2);
        Assert.Equal(0, versions.ErrorCode);
    }

    [Fact]
    public async Task Respond_AnswersWithTheGivenBody_AndAnotherApisBodyIsRefused()
    {
        await using var broker = await TestBroker.StartAsync();
        broker.Broker.Dispatcher.Interceptor = new Scripted((context, _) => context.ApiKey switch
        {
            ApiKey.DescribeCluster => Interception.Respond(new DescribeClusterResponse { ClusterId = "invented", ControllerId = 42 }),
            ApiKey.ListGroups => Interception.Respond(new DescribeClusterResponse()),
            _ => Interception.Continue,
        });
        await using var client = await broker.ConnectAsync();
        var (_, described) = await client.RequestAsync<DescribeClusterResponse>(new DescribeClusterRequest(), 0);
        Assert.Equal("invented", described.ClusterId);
        Assert.Equal(42, described.ControllerId);

        // A body of the wrong API cannot be framed as this request's answer: the connection closes instead.
        await client.SendRawAsync(TestClient.EncodeRequest(new ListGroupsRequest(), 4, 9));
        Assert.True(await client.WaitForCloseAsync());
    }
}
