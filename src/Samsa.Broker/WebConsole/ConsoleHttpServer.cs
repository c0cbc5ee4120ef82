using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Http;

namespace Samsa.Broker.WebConsole;

/// <summary>
/// The web console on <c>console.listener</c> (Kestrel): a single page (HTML, CSS and JavaScript embedded in this
/// assembly, nothing fetched from elsewhere) over a small JSON API under <c>/api/</c>, answered by
/// <see cref="ConsoleApi"/>. HTTP Basic authentication against the broker's SASL users whenever it has any
/// (<see cref="ConsoleAuthenticator"/>). Off when <c>console.listener</c> is empty, the default.
/// </summary>
/// <remarks>
/// Kestrel runs on the thread pool, never on the broker's socket event threads; reading a log file for the message
/// browser happens there too. A state-changing request (creating a topic) must carry the <c>X-Samsa-Console</c>
/// header, which a cross-site form cannot send, so a page elsewhere cannot use a browser's remembered credentials.
/// </remarks>
public sealed class ConsoleHttpServer : IAsyncDisposable
{
    public const string CsrfHeader = "X-Samsa-Console";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly Dictionary<string, (string Resource, string ContentType)> Assets = new(StringComparer.Ordinal)
    {
        ["/"] = ("index.html", "text/html; charset=utf-8"),
        ["/index.html"] = ("index.html", "text/html; charset=utf-8"),
        ["/app.js"] = ("app.js", "text/javascript; charset=utf-8"),
        ["/app.css"] = ("app.css", "text/css; charset=utf-8"),
    };

    private readonly WebApplication _app;
    private readonly ConsoleSampler _sampler;

    private ConsoleHttpServer(WebApplication app, ConsoleSampler sampler, Uri endpoint)
    {
        _app = app;
        _sampler = sampler;
        Endpoint = endpoint;
    }

    /// <summary>The bound address, with the port the OS chose where the config said 0.</summary>
    public Uri Endpoint { get; }

    public static async Task<ConsoleHttpServer> StartAsync(string listener, ConsoleSources sources, ConsoleAuthenticator authenticator,
        ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var endpoint = HttpListenerHost.Parse(listener, "console.listener");
        var api = new ConsoleApi(sources);
        var app = HttpListenerHost.Build(endpoint, loggerFactory, maxRequestBodySize: 64 * 1024);
        app.Run(context => HandleAsync(context, api, authenticator));
        sources.Sampler.Start();
        Uri bound;
        try
        {
            bound = await HttpListenerHost.StartAsync(app, endpoint, cancellationToken);
        }
        catch
        {
            await sources.Sampler.DisposeAsync();
            throw;
        }
        ConsoleLog.Listening(loggerFactory.CreateLogger("Samsa.Console"), bound.OriginalString, authenticator.Required);
        return new ConsoleHttpServer(app, sources.Sampler, bound);
    }

    private static async Task HandleAsync(HttpContext context, ConsoleApi api, ConsoleAuthenticator authenticator)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers["X-Content-Type-Options"] = "nosniff";
        response.Headers["X-Frame-Options"] = "DENY";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.CacheControl = "no-store";
        if (authenticator.Required && authenticator.Authenticate(request.Headers.Authorization) is null)
        {
            response.StatusCode = StatusCodes.Status401Unauthorized;
            response.Headers.WWWAuthenticate = "Basic realm=\"Samsa console\", charset=\"UTF-8\"";
            await response.WriteAsync("Authentication required: a SASL user of this broker (PLAIN or SCRAM) and its password.\n");
            return;
        }
        var path = request.Path.Value ?? "/";
        var cancellationToken = context.RequestAborted;
        if (HttpMethods.IsGet(request.Method) && Assets.TryGetValue(path, out var asset))
        {
            response.ContentType = asset.ContentType;
            response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";
            await using var stream = Asset(asset.Resource);
            await stream.CopyToAsync(response.Body, cancellationToken);
            return;
        }
        if (!path.StartsWith("/api/", StringComparison.Ordinal))
        {
            await Status(response, StatusCodes.Status404NotFound, "Not found");
            return;
        }
        var segments = path["/api/".Length..].Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        var query = request.Query;
        switch (request.Method, segments)
        {
            case ("GET", ["cluster"]):
                await Answer(response, api.Cluster());
                return;
            case ("GET", ["throughput"]):
                await Answer(response, api.ThroughputHistory());
                return;
            case ("GET", ["topics"]):
                await Answer(response, api.Topics());
                return;
            case ("POST", ["topics"]):
                await CreateTopicAsync(context, api);
                return;
            case ("GET", ["topics", var topic]):
                await AnswerOrNotFound(response, api.Topic(topic), $"No topic {topic}");
                return;
            case ("GET", ["topics", var topic, "messages"]):
                await Answer(response, api.Messages(topic, ConsoleApi.ParseInt(query["partition"]) ?? 0, ConsoleApi.ParseLong(query["offset"]),
                    ConsoleApi.ParseLong(query["timestamp"]), ConsoleApi.ParseInt(query["limit"]) ?? 50));
                return;
            case ("GET", ["groups"]):
                await Answer(response, await api.GroupsAsync(cancellationToken));
                return;
            case ("GET", ["groups", var group]):
                await AnswerOrNotFound(response, await api.GroupAsync(group, cancellationToken), $"No group {group}");
                return;
            default:
                await Status(response, StatusCodes.Status404NotFound, "Not found");
                return;
        }
    }

    private static async Task CreateTopicAsync(HttpContext context, ConsoleApi api)
    {
        if (context.Request.Headers[CsrfHeader].Count == 0 || context.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true)
        {
            await Status(context.Response, StatusCodes.Status403Forbidden, $"A console request needs the {CsrfHeader} header and a JSON body");
            return;
        }
        CreateTopicForm? form;
        try
        {
            form = await JsonSerializer.DeserializeAsync<CreateTopicForm>(context.Request.Body, Json, context.RequestAborted);
        }
        catch (JsonException e)
        {
            await Status(context.Response, StatusCodes.Status400BadRequest, $"Invalid JSON: {e.Message}");
            return;
        }
        if (form is null || string.IsNullOrWhiteSpace(form.Name))
        {
            await Status(context.Response, StatusCodes.Status400BadRequest, "A topic needs a name");
            return;
        }
        // -1 asks for the broker's num.partitions and default.replication.factor, as CreateTopics does.
        var (created, error) = await api.CreateTopicAsync(form.Name.Trim(), form.Partitions ?? -1, (short)(form.ReplicationFactor ?? -1),
            form.Configs ?? new Dictionary<string, string>(), context.RequestAborted);
        if (!created)
        {
            await Status(context.Response, StatusCodes.Status400BadRequest, error ?? "Not created");
            return;
        }
        context.Response.StatusCode = StatusCodes.Status201Created;
        await Answer(context.Response, api.Topic(form.Name.Trim()) ?? new { name = form.Name.Trim() });
    }

    private sealed record CreateTopicForm(string? Name, int? Partitions, int? ReplicationFactor, Dictionary<string, string>? Configs);

    private static Stream Asset(string name) =>
        Assembly.GetExecutingAssembly().GetManifestResourceStream($"Samsa.Broker.WebConsole.Assets.{name}")
        ?? throw new InvalidOperationException($"The console asset {name} is not embedded");

    private static Task Answer(HttpResponse response, object value)
    {
        response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(response.Body, value, value.GetType(), Json);
    }

    private static Task AnswerOrNotFound(HttpResponse response, object? value, string notFound) =>
        value is null ? Status(response, StatusCodes.Status404NotFound, notFound) : Answer(response, value);

    private static Task Status(HttpResponse response, int status, string message)
    {
        response.StatusCode = status;
        return Answer(response, new { error = message });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _sampler.DisposeAsync();
    }
}

/// <summary>Console log lines; event ids 1910-1919 are stable.</summary>
internal static partial class ConsoleLog
{
    [LoggerMessage(EventId = 1910, Level = LogLevel.Information, Message = "Serving the web console on {Endpoint} (authentication {Authenticated})")]
    public static partial void Listening(ILogger logger, string endpoint, bool authenticated);
}
