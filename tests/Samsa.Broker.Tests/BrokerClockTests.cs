using Microsoft.Extensions.Time.Testing;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests;

/// <summary>
/// The broker runs on the one <see cref="TimeProvider"/> it is given: on a fake clock nothing that depends on time
/// happens until the test moves the clock, and then it happens without waiting for real time to pass.
/// </summary>
public class BrokerClockTests
{
    private static async Task ServedAsync(TestClient client, int correlationId)
    {
        var (correlation, body) = await client.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "samsa-tests", ClientSoftwareVersion = "1.0" }, 3, correlationId);
        Assert.Equal(correlationId, correlation);
        Assert.Equal((short)ErrorCode.None, body.ErrorCode);
    }

    [Fact]
    public async Task IdleConnection_ClosesWhenTheBrokersClockPassesTheLimit_NotBefore()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var broker = await TestBroker.StartOnClockAsync(clock, ("connections.max.idle.ms", "60000"));
        await using var idle = await broker.ConnectAsync();
        await ServedAsync(idle, 1);
        // The server stamps the connection's activity just after sending the answer, on its own thread; let that
        // happen before the clock moves, or the stamp lands seconds later on the fake clock.
        await Task.Delay(500);

        // Fifty-nine seconds on the broker's clock, in steps the idle sweep (every 1 s) notices: still open.
        for (var i = 0; i < 59; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        var read = idle.ReadFrameAsync(TimeSpan.FromSeconds(30));
        Assert.NotSame(read, await Task.WhenAny(read, Task.Delay(500)));

        // Past the limit on the broker's clock: the next sweep closes it, though barely a second of real time has passed.
        clock.Advance(TimeSpan.FromSeconds(2));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await read);
        Assert.Contains(broker.Logs.Lines, l => l.EventId == 210 && l.Message.Contains("connections.max.idle.ms", StringComparison.Ordinal));
    }
}
