using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace Samsa.Cli;

/// <summary>
/// Loads the librdkafka that Confluent.Kafka ships for CentOS 8. Its default native library needs libsasl2.so.3,
/// which Debian 12 lacks, and .NET would then quietly bind to whatever older librdkafka the system has; so the
/// CentOS 8 build is loaded explicitly, "libdl" is pointed at libdl.so.2, and the version is checked.
/// </summary>
internal static class NativeLibrdkafka
{
    public const string ExpectedVersion = "2.16.0";

    private static bool _loaded;

    public static void EnsureLoaded()
    {
        if (_loaded)
        {
            return;
        }
        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "centos8-librdkafka.so");
        NativeLibrary.SetDllImportResolver(typeof(Library).Assembly, (name, _, _) => name switch
        {
            "libdl" => NativeLibrary.Load("libdl.so.2"),
            _ when name.Contains("librdkafka", StringComparison.Ordinal) => NativeLibrary.Load(native),
            _ => IntPtr.Zero,
        });
        if (!Library.Load(native) && !Library.IsLoaded)
        {
            throw new CommandException($"could not load {native}");
        }
        if (Library.VersionString != ExpectedVersion)
        {
            throw new CommandException($"librdkafka {Library.VersionString} loaded, expected {ExpectedVersion}");
        }
        _loaded = true;
    }
}

/// <summary>A failure the command reports as one line and exit code 1.</summary>
internal sealed class CommandException(string message) : Exception(message);
