using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>One JSON line a long-running client printed (see clients/kafka_python_group_member.py for the fields).</summary>
public sealed record ClientEvent(string Name, long Ts, string Client, string Raw, JsonElement Json)
{
    public int Partition => Json.GetProperty("partition").GetInt32();

    public long Offset => Json.GetProperty("offset").GetInt64();

    public string Value => Json.GetProperty("value").GetString()!;

    public int[] Partitions => [.. Json.GetProperty("partitions").EnumerateArray().Select(e => e.GetInt32())];

    public int? Generation => Json.TryGetProperty("generation", out var g) && g.ValueKind == JsonValueKind.Number ? g.GetInt32() : null;

    public string? Error => Json.TryGetProperty("error", out var e) ? e.GetString() : null;
}

/// <summary>
/// A client program that keeps running (a group member, a steady producer), printing JSON-line events the test
/// waits for with deadlines and sending it commands on stdin. Clients exit by themselves at the end of stdin, so
/// they stop when the test host does; disposing closes stdin, then kills what is left.
/// </summary>
public sealed class ClientProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<ClientEvent> _events = [];
    private readonly StringBuilder _stderr = new();
    private readonly SemaphoreSlim _changed = new(0);

    private ClientProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    /// <summary>A label for messages and reports ("kafka-python#1").</summary>
    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once <see cref="HasExited"/> (a signal's is 128 + its number).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Waits until the client exits by itself, is killed, or <paramref name="cancel"/> fires.</summary>
    public async Task WaitForExitAsync(CancellationToken cancel)
    {
        await _process.WaitForExitAsync(cancel);
        _process.WaitForExit();
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static ClientProcess Start(string name, string file, IEnumerable<string> args)
    {
        var process = ExternalProcess.StartRedirected(file, args);
        var client = new ClientProcess(process, name);
        process.OutputDataReceived += (_, e) => client.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (client._stderr)
                {
                    client._stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return client;
    }

    private void OnLine(string? line)
    {
        if (line is null || !line.StartsWith('{'))
        {
            _changed.Release();
            return;
        }
        var json = JsonDocument.Parse(line).RootElement.Clone();
        lock (_events)
        {
            _events.Add(new ClientEvent(json.GetProperty("event").GetString()!, json.GetProperty("ts").GetInt64(), Name, line, json));
        }
        _changed.Release();
    }

    public IReadOnlyList<ClientEvent> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public IReadOnlyList<ClientEvent> EventsNamed(string name) => [.. Events.Where(e => e.Name == name)];

    /// <summary>The partitions of the last assignment (empty after a revocation or before any).</summary>
    public int[] Owned()
    {
        var last = Events.LastOrDefault(e => e.Name is "assigned" or "revoked" or "lost");
        return last is { Name: "assigned" } ? last.Partitions : [];
    }

    /// <summary>Waits until the condition holds over this client's events; fails with its output at the deadline.</summary>
    public async Task<ClientEvent> WaitForAsync(Func<ClientEvent, bool> condition, TimeSpan timeout, string what, int after = 0)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var found = Events.Skip(after).FirstOrDefault(condition);
            if (found is not null)
            {
                return found;
            }
            var left = timeout - deadline.Elapsed;
            if (left <= TimeSpan.Zero || _process.HasExited && !await _changed.WaitAsync(100))
            {
                throw new TimeoutException($"{Name}: no {what} within {timeout}{(_process.HasExited ? " (exited)" : "")}\n{Describe()}");
            }
            await _changed.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
        }
    }

    public string Describe() =>
        $"--- {Name} events\n{string.Join('\n', Events.TakeLast(60).Select(e => e.Raw))}\n--- {Name} stderr\n{Stderr[Math.Max(0, Stderr.Length - 4000)..]}";

    public async Task SendAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>SIGSTOP or SIGCONT: the process (every thread of it) stops or goes on.</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString()])!;
        await kill.WaitForExitAsync();
    }

    /// <summary>Asks the client to close (commit, leave the group) and waits for it to exit.</summary>
    public async Task CloseAsync(TimeSpan timeout)
    {
        await SendAsync("close");
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} did not close within {timeout}\n{Describe()}");
        }
        _process.WaitForExit();
    }

    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            await SignalAsync("CONT");
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                await SignalAsync("CONT");
                _process.StandardInput.Close();
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(deadline.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
        _changed.Dispose();
    }
}
