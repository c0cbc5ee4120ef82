using System.Globalization;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Samsa.Broker.Network;

/// <summary>
/// Keeps the acceptors from taking the process's last file descriptors (Linux). With every descriptor taken by
/// connections the runtime itself fails (it aborts with "Out of memory." when it cannot open what it needs), so an
/// acceptor that receives a socket within <see cref="Reserve"/> of the soft <c>RLIMIT_NOFILE</c> holds it unserved
/// and waits for descriptors to free up, as it waits at <c>max.connections</c>.
/// </summary>
/// <remarks>
/// The check costs nothing per connection: the kernel hands out the lowest free descriptor number, so a new socket
/// numbered at or above <c>limit - Reserve</c> means every lower number is taken and at most <see cref="Reserve"/>
/// remain. Whether some have freed up is seen the same way, by opening <c>/dev/null</c> and reading its number.
/// </remarks>
internal sealed class FileDescriptorBudget
{
    private FileDescriptorBudget(long limit)
    {
        Limit = limit;
        Reserve = (int)Math.Clamp(limit / 16, 16, 64);
    }

    /// <summary>The soft limit on open files, or long.MaxValue when it is unknown or unlimited.</summary>
    public long Limit { get; }

    /// <summary>Descriptors left to the rest of the process: a sixteenth of the limit, between 16 and 64.</summary>
    public int Reserve { get; }

    public static FileDescriptorBudget ForThisProcess()
    {
        try
        {
            // "Max open files            1024                 1048576              files"
            var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            var soft = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            return new FileDescriptorBudget(long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) ? limit : long.MaxValue);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new FileDescriptorBudget(long.MaxValue);
        }
    }

    /// <summary>True when <paramref name="socket"/> took one of the last <see cref="Reserve"/> descriptors.</summary>
    public bool NearLimit(Socket socket) => Limit != long.MaxValue && socket.SafeHandle.DangerousGetHandle().ToInt64() >= Limit - Reserve;

    /// <summary>True when a new descriptor would again be below the reserve.</summary>
    public bool HasHeadroom()
    {
        if (Limit == long.MaxValue)
        {
            return true;
        }
        try
        {
            using SafeFileHandle probe = File.OpenHandle("/dev/null");
            return probe.DangerousGetHandle().ToInt64() < Limit - Reserve;
        }
        catch (IOException)
        {
            // EMFILE: none at all.
            return false;
        }
    }
}
