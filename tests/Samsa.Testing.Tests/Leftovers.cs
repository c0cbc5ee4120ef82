using System.Net;
using System.Net.Sockets;

namespace Samsa.Testing.Tests;

/// <summary>What a disposed cluster must not leave behind: its data directory and listening ports.</summary>
internal static class Leftovers
{
    public static async Task AssertGoneAsync(string dataDirectory, IEnumerable<int> ports)
    {
        Assert.False(Directory.Exists(dataDirectory), $"{dataDirectory} is still there");
        foreach (var port in ports)
        {
            using var client = new TcpClient();
            var refused = await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync(IPAddress.Loopback, port));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
            Assert.DoesNotContain(port, ListeningPorts());
        }
    }

    /// <summary>Ports in LISTEN state on this machine (/proc/net/tcp, state 0A).</summary>
    private static HashSet<int> ListeningPorts() =>
        [.. new[] { "/proc/net/tcp", "/proc/net/tcp6" }.Where(File.Exists)
            .SelectMany(f => File.ReadLines(f).Skip(1))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(c => c.Length > 3 && c[3] == "0A")
            .Select(c => Convert.ToInt32(c[1].Split(':')[1], 16))];
}
