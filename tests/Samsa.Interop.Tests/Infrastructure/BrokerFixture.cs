namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>
/// One broker process shared by the tests of a class. Auto topic creation is off so that asking for an unknown
/// topic leaves the cluster empty and answers UNKNOWN_TOPIC_OR_PARTITION, whatever order the tests run in.
/// </summary>
public sealed class BrokerFixture : IAsyncLifetime
{
    public BrokerProcess Broker { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Broker = await BrokerProcess.StartAsync(new Dictionary<string, string> { ["auto.create.topics.enable"] = "false" });

    public async Task DisposeAsync() => await Broker.DisposeAsync();

    /// <summary>The cluster id the broker wrote to meta.properties on first start.</summary>
    public string ClusterId() =>
        File.ReadLines(Path.Combine(Broker.Directory, "data", "meta.properties"))
            .Single(l => l.StartsWith("cluster.id=", StringComparison.Ordinal))["cluster.id=".Length..];
}
