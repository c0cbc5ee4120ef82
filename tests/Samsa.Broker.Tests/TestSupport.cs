using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Config;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests;

/// <summary>A directory under the temp folder, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "samsa-test-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process still holding a file; the temp folder is cleaned eventually.
        }
    }
}

/// <summary>Keeps every log line so tests can assert what was logged.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, int EventId, string Message)> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue((logLevel, eventId.Id, formatter(state, exception)));
    }
}

/// <summary>A real broker on an ephemeral loopback port with its own temp data dir.</summary>
public sealed class TestBroker : IAsyncDisposable
{
    private readonly TempDir? _dir;

    private TestBroker(KafkaBroker broker, TempDir? dir, CapturingLoggerProvider logs, ILoggerFactory loggerFactory)
    {
        Broker = broker;
        _dir = dir;
        Logs = logs;
        LoggerFactory = loggerFactory;
    }

    public KafkaBroker Broker { get; }

    public CapturingLoggerProvider Logs { get; }

    public ILoggerFactory LoggerFactory { get; }

    public int Port => Broker.BoundEndpoints[0].Port;

    public static Task<TestBroker> StartAsync(params (string Key, string Value)[] overrides) => StartAsync(new TempDir(), ownsDirectory: true, overrides, null);

    /// <summary>Starts a broker whose every timer and timestamp comes from <paramref name="time"/> (a fake clock in tests).</summary>
    public static Task<TestBroker> StartOnClockAsync(TimeProvider time, params (string Key, string Value)[] overrides) =>
        StartAsync(new TempDir(), ownsDirectory: true, overrides, time);

    /// <summary>Starts a broker on <paramref name="dir"/>, which outlives it: start another on the same data to test a restart.</summary>
    public static Task<TestBroker> StartInAsync(TempDir dir, params (string Key, string Value)[] overrides) => StartAsync(dir, ownsDirectory: false, overrides, null);

    private static async Task<TestBroker> StartAsync(TempDir dir, bool ownsDirectory, (string Key, string Value)[] overrides, TimeProvider? time)
    {
        var logs = new CapturingLoggerProvider();
        var loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        var properties = new Dictionary<string, string>
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["log.dirs"] = dir.Path,
            // As Kafka's own integration tests: the first rebalance of a group starts at once.
            ["group.initial.rebalance.delay.ms"] = "0",
        };
        foreach (var (key, value) in overrides)
        {
            properties[key] = value;
        }
        var broker = await KafkaBroker.StartAsync(KafkaConfig.FromProperties(properties), loggerFactory, time: time);
        return new TestBroker(broker, ownsDirectory ? dir : null, logs, loggerFactory);
    }

    public Task<TestClient> ConnectAsync() => TestClient.ConnectAsync(Port);

    /// <summary>Connects from <paramref name="source"/> (Linux loopback takes any 127/8 address as a source).</summary>
    public Task<TestClient> ConnectFromAsync(System.Net.IPAddress source) => TestClient.ConnectAsync(Port, source);

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        LoggerFactory.Dispose();
        _dir?.Dispose();
    }
}

/// <summary>A bare Kafka wire client: frames, headers and generated message types, nothing more.</summary>
public sealed class TestClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private TestClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<TestClient> ConnectAsync(int port, System.Net.IPAddress? source = null)
    {
        var tcp = new TcpClient { NoDelay = true };
        if (source is not null)
        {
            tcp.Client.Bind(new System.Net.IPEndPoint(source, 0));
        }
        await tcp.ConnectAsync("127.0.0.1", port);
        return new TestClient(tcp);
    }

    /// <summary>Encodes a whole request frame (size prefix, header, body).</summary>
    public static byte[] EncodeRequest(IApiMessage body, short version, int correlationId, string clientId = "test-client") =>
        RequestFrames.Build(body, version, correlationId, clientId);

    public async Task SendRawAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Reads one response frame; null when the broker closed the connection.</summary>
    public async Task<byte[]?> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var sizeBytes = new byte[4];
        if (!await ReadExactlyOrEofAsync(sizeBytes, cts.Token))
        {
            return null;
        }
        var payload = new byte[BinaryPrimitives.ReadInt32BigEndian(sizeBytes)];
        return await ReadExactlyOrEofAsync(payload, cts.Token) ? payload : null;
    }

    private async Task<bool> ReadExactlyOrEofAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            int n;
            try
            {
                n = await _stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            }
            catch (IOException)
            {
                return false;
            }
            if (n == 0)
            {
                return false;
            }
            read += n;
        }
        return true;
    }

    /// <summary>True when the broker closes the connection (EOF or reset) within the timeout.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan? timeout = null) => await ReadFrameAsync(timeout ?? TimeSpan.FromSeconds(10)) is null;

    public static (int CorrelationId, T Body) ParseResponse<T>(byte[] frame, short version, short headerVersion)
        where T : IApiMessage, new()
    {
        var reader = new ProtocolReader(frame);
        var header = new ResponseHeader();
        header.Read(ref reader, headerVersion);
        var body = new T();
        body.Read(ref reader, version);
        Assert.True(reader.End, $"{reader.Remaining} bytes left after the {typeof(T).Name} v{version} body");
        return (header.CorrelationId, body);
    }

    /// <summary>Sends a request and reads its response at the same version.</summary>
    public async Task<(int CorrelationId, TResponse Body)> RequestAsync<TResponse>(IApiMessage request, short version, int correlationId = 1)
        where TResponse : IApiMessage, new()
    {
        await SendRawAsync(EncodeRequest(request, version, correlationId));
        var frame = await ReadFrameAsync() ?? throw new IOException("Broker closed the connection instead of answering");
        return ParseResponse<TResponse>(frame, version, ApiMessages.ResponseHeaderVersion(request.ApiKey, version));
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}

/// <summary>The repository's built executables (Release or Debug, as the tests), run as child processes.</summary>
public static class BuiltTools
{
    /// <summary>The path of <paramref name="assembly"/> built from <c>src/<paramref name="project"/></c>; fails the test when it is not built.</summary>
    public static string Dll(string project, string assembly)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Samsa.slnx")))
        {
            dir = dir.Parent;
        }
        Assert.NotNull(dir);
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var path = Path.Combine(dir.FullName, "src", project, "bin", configuration, "net10.0", assembly);
        Assert.True(File.Exists(path), $"{path} is not built (dotnet build src/{project} -c {configuration})");
        return path;
    }

    /// <summary>Runs <c>samsa <paramref name="command"/> args</c> and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Out, string Err)> RunCliAsync(string command, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Dll("Samsa.Cli", "samsa.dll"));
        info.ArgumentList.Add(command);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await stdout, await stderr);
    }
}
