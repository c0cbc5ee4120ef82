using System.Net;
using System.Net.Sockets;

namespace Samsa.Benchmarks.Shared;

/// <summary>
/// What every benchmark that runs a real samsa-server process needs to find and place it (linked into each such
/// benchmark project): the Release build of the server, and a free loopback port.
/// </summary>
internal static class BenchServer
{
    /// <summary>The Release samsa-server.dll of this repository (the directory above holding Samsa.slnx).</summary>
    public static string ServerDll()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Samsa.slnx")))
            {
                var path = Path.Combine(dir.FullName, "src", "Samsa.Server", "bin", "Release", "net10.0", "samsa-server.dll");
                return File.Exists(path) ? path : throw new FileNotFoundException("build src/Samsa.Server in Release first", path);
            }
        }
        throw new InvalidOperationException("Samsa.slnx not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A loopback port free at the time of the call.</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
