using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Config;

namespace Samsa.Broker.Http;

/// <summary>
/// How the broker's HTTP listeners (<c>metrics.listener</c>, <c>console.listener</c>) are parsed, built and started:
/// an empty Kestrel host (no configuration files, no environment, no default middleware) logging through the
/// broker's logger factory, bound to one address.
/// </summary>
public static class HttpListenerHost
{
    /// <summary>Parses a listener config: <c>http://host:port</c> with an IP address or <c>localhost</c> (loopback).</summary>
    /// <exception cref="ConfigException">The value names no such address, in Kafka's "Invalid value" wording.</exception>
    public static IPEndPoint Parse(string listener, string configName)
    {
        if (!Uri.TryCreate(listener, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.AbsolutePath is not ("/" or ""))
        {
            throw new ConfigException($"Invalid value {listener} for configuration {configName}: expected http://host:port");
        }
        var address = uri.Host switch
        {
            "localhost" => IPAddress.Loopback,
            "" or "0.0.0.0" => IPAddress.Any,
            var host when IPAddress.TryParse(host.Trim('[', ']'), out var ip) => ip,
            _ => throw new ConfigException($"Invalid value {listener} for configuration {configName}: the host must be an IP address or localhost"),
        };
        return new IPEndPoint(address, uri.Port);
    }

    /// <summary>A host listening on <paramref name="endpoint"/>; the caller maps its routes, then calls <see cref="StartAsync"/>.</summary>
    /// <param name="maxRequestBodySize">Kestrel's request body limit; null keeps Kestrel's default.</param>
    public static WebApplication Build(IPEndPoint endpoint, ILoggerFactory loggerFactory, long? maxRequestBodySize = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddLogging();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(endpoint);
            if (maxRequestBodySize is { } limit)
            {
                kestrel.Limits.MaxRequestBodySize = limit;
            }
        });
        return builder.Build();
    }

    /// <summary>
    /// Starts <paramref name="app"/> and returns the address it is bound to, with the port the OS chose where the
    /// config said 0. A host that fails to start (the port taken) is disposed before the exception goes on.
    /// </summary>
    public static async Task<Uri> StartAsync(WebApplication app, IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? $"http://{endpoint}";
        return new Uri(bound);
    }
}
