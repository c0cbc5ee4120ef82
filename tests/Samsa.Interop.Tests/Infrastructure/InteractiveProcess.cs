using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>
/// A client process that keeps running while a test talks to it: lines go in on stdin, stdout lines are kept in
/// order and can be awaited. Disposing kills it (and its children) if it is still running.
/// </summary>
public sealed class InteractiveProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _seen = [];
    private readonly StringBuilder _stderr = new();

    private InteractiveProcess(Process process) => _process = process;

    public static InteractiveProcess Start(string file, IEnumerable<string> args)
    {
        var process = ExternalProcess.StartRedirected(file, args);
        var running = new InteractiveProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                running._lines.Writer.TryComplete();
            }
            else
            {
                running._lines.Writer.TryWrite(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (running._stderr) { running._stderr.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return running;
    }

    /// <summary>Every stdout line read so far (by the waits), in order.</summary>
    public IReadOnlyList<string> Seen => _seen;

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

    public async Task SendAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Reads lines until one matches; fails with everything seen when the time is up or the process ends.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var line = await _lines.Reader.ReadAsync(deadline.Token);
                _seen.Add(line);
                if (match(line))
                {
                    return line;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            throw new TimeoutException($"no line for {what} within {timeout}\n--- stdout\n{string.Join('\n', _seen)}\n--- stderr\n{Stderr}");
        }
    }

    /// <summary>SIGKILL (no chance to clean up), then waits for the process to be gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
