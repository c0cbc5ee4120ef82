using System.Diagnostics;
using Samsa.Broker.Config;

namespace Samsa.Broker.Tests;

/// <summary>The real samsa-server executable, started as a child process.</summary>
public class ServerProcessTests
{
    private static string ServerDll() => BuiltTools.Dll("Samsa.Server", "samsa-server.dll");

    private static Process Start(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(ServerDll());
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return Process.Start(info)!;
    }

    private static void SendSigterm(Process process)
    {
        using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    [Fact]
    public async Task Server_StartsWithConfigFileAndOverrides_ServesRequests_AndExitsCleanlyOnSigterm()
    {
        using var dir = new TempDir();
        var properties = Path.Combine(dir.Path, "server.properties");
        File.WriteAllText(properties, "node.id=3\nlisteners=PLAINTEXT://127.0.0.1:0\n");
        using var process = Start(dir.Path, properties, "--override", "log.dirs=" + Path.Combine(dir.Path, "logs"));
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var started = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            output.Enqueue(e.Data);
            if (e.Data.Contains("started, listening on", StringComparison.Ordinal))
            {
                started.TrySetResult(e.Data);
            }
        };
        process.BeginOutputReadLine();
        try
        {
            var line = await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var port = int.Parse(line[(line.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            await using (var client = await TestClient.ConnectAsync(port))
            {
                var request = new Samsa.Protocol.Messages.ApiVersionsRequest { ClientSoftwareName = "samsa-tests", ClientSoftwareVersion = "1" };
                var (_, response) = await client.RequestAsync<Samsa.Protocol.Messages.ApiVersionsResponse>(request, 3);
                Assert.Equal(0, response.ErrorCode);
            }
            Assert.Equal(3, MetaProperties.Read(Path.Combine(dir.Path, "logs"))!.NodeId);

            SendSigterm(process);
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(exited.Token);
            Assert.Equal(0, process.ExitCode);
            Assert.Contains(output, l => l.Contains("shut down", StringComparison.Ordinal));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [Theory]
    [InlineData("num.partitions=zero", "Invalid value zero for configuration num.partitions")]
    [InlineData("listeners=PLAINTEXT://127.0.0.1:99999", "Port must be between 0 and 65535")]
    public async Task InvalidConfig_PrintsOneLineOnStderr_AndExitsWithOne(string pair, string fragment)
    {
        using var dir = new TempDir();
        using var process = Start(dir.Path, "--override", pair);
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(1, process.ExitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(fragment, line);
    }

    [Fact]
    public async Task SecondStartWithAnotherNodeId_IsRefused()
    {
        using var dir = new TempDir();
        MetaPropertiesEnsemble.LoadOrFormat([Path.Combine(dir.Path, "data")], 1, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var process = Start(dir.Path, "--override", "node.id=2", "--override", "listeners=PLAINTEXT://127.0.0.1:0");
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(1, process.ExitCode);
        Assert.Contains("Stored node id 1", stderr);
    }
}
