using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Samsa.Broker.Http;

namespace Samsa.Broker.Metrics;

/// <summary>
/// The HTTP listener of <c>metrics.listener</c> (Kestrel): <c>/metrics</c> in Prometheus' text format, written by
/// OpenTelemetry's Prometheus exporter from this node's <see cref="BrokerMetrics"/> and the .NET runtime and process
/// meters; <c>/health/live</c> (200 while the process serves HTTP) and <c>/health/ready</c> (200 once the broker may
/// take clients, else 503). Off when <c>metrics.listener</c> is empty, which is the default.
/// </summary>
/// <remarks>
/// Kestrel runs on the thread pool, never on the broker's socket event threads, and a scrape reads the gauges'
/// callbacks (partition and connection counts, log sizes) from the scrape's thread: each reads state that is
/// published for lock-free readers (see docs/CONCURRENCY.md).
/// </remarks>
public sealed class MetricsHttpServer : IAsyncDisposable
{
    public const string MetricsPath = "/metrics";
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";

    private readonly WebApplication _app;
    private readonly MeterProvider _meterProvider;

    private MetricsHttpServer(WebApplication app, MeterProvider meterProvider, Uri endpoint)
    {
        _app = app;
        _meterProvider = meterProvider;
        Endpoint = endpoint;
    }

    /// <summary>The bound address, with the port the OS chose where the config said 0 (<c>http://127.0.0.1:9404</c>).</summary>
    public Uri Endpoint { get; }

    /// <param name="ready">Whether the broker is ready for clients (its logs loaded and, in a cluster, registered and unfenced).</param>
    /// <param name="lag">The lag monitor's last sample, served in Burrow's HTTP shape under <c>/v3/kafka/{cluster}</c>.</param>
    /// <param name="clusterName">The cluster's name in those paths (the cluster id).</param>
    public static async Task<MetricsHttpServer> StartAsync(string listener, BrokerMetrics metrics, Func<bool> ready, ILoggerFactory loggerFactory,
        CancellationToken cancellationToken, Func<IReadOnlyDictionary<string, Lag.GroupLag>?>? lag = null, string clusterName = "samsa")
    {
        var endpoint = HttpListenerHost.Parse(listener, "metrics.listener");
        var meter = metrics.Meter;
        var meterProvider = Sdk.CreateMeterProviderBuilder()
            // target_info names the node: service_name="samsa", service_instance_id=<node.id>.
            .ConfigureResource(resource => resource.Clear().AddService("samsa",
                serviceInstanceId: metrics.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture), autoGenerateServiceInstanceId: false))
            .AddMeter(BrokerMetrics.MeterName)
            // Several nodes may share a process (tests, a local cluster): each endpoint reports its own node's meter.
            .AddView(instrument => instrument.Meter.Name == BrokerMetrics.MeterName && !ReferenceEquals(instrument.Meter, meter) ? MetricStreamConfiguration.Drop : null)
            .AddRuntimeInstrumentation()
            .AddProcessInstrumentation()
            // Every scrape collects afresh: a test that produced and then scrapes must see its own bytes.
            .AddPrometheusExporter(options => options.ScrapeResponseCacheDurationMilliseconds = 0)
            .Build();
        try
        {
            var app = HttpListenerHost.Build(endpoint, loggerFactory);
            app.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider, predicate: null, path: MetricsPath, configureBranchedPipeline: null, optionsName: null);
            app.Map(LivePath, live => live.Run(context => Answer(context, true)));
            app.Map(ReadyPath, readiness => readiness.Run(context => Answer(context, ready())));
            if (lag is not null)
            {
                app.Map("/v3/kafka", burrow => burrow.Run(context => Lag.BurrowApi.AnswerAsync(context, clusterName, lag())));
            }
            var bound = await HttpListenerHost.StartAsync(app, endpoint, cancellationToken);
            MetricsLog.Listening(loggerFactory.CreateLogger("Samsa.Metrics"), bound.OriginalString);
            return new MetricsHttpServer(app, meterProvider, bound);
        }
        catch
        {
            meterProvider.Dispose();
            throw;
        }
    }

    private static Task Answer(HttpContext context, bool ok)
    {
        context.Response.StatusCode = ok ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(ok ? "OK\n" : "NOT READY\n");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _meterProvider.Dispose();
    }
}

/// <summary>Metrics endpoint log lines; event ids 1900-1909 are stable.</summary>
internal static partial class MetricsLog
{
    [LoggerMessage(EventId = 1900, Level = LogLevel.Information, Message = "Serving /metrics, /health/live and /health/ready on {Endpoint}")]
    public static partial void Listening(ILogger logger, string endpoint);
}
