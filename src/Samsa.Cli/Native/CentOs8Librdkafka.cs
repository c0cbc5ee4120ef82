using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace Samsa.Native;

/// <summary>
/// Loads the librdkafka that Confluent.Kafka ships for CentOS 8. Its default native library needs libsasl2.so.3,
/// which Debian 12 lacks, and .NET would then quietly bind to whatever older librdkafka the system has; so the
/// CentOS 8 build is loaded explicitly, "libdl" (which only a -dev package provides unversioned) is pointed at
/// libdl.so.2, and the version is checked, so every user judges with the client it names. One file, linked into the
/// CLI, the interop client, Samsa.Testing's tests and its benchmark.
/// </summary>
internal static class CentOs8Librdkafka
{
    public const string ExpectedVersion = "2.16.0";

    private static readonly Lazy<string> s_loaded = new(Load);

    /// <summary>Loads it once; throws <see cref="InvalidOperationException"/> (a one-line reason) when it cannot, or when another version is loaded.</summary>
    public static void EnsureLoaded()
    {
        var version = s_loaded.Value;
        if (version != ExpectedVersion)
        {
            throw new InvalidOperationException($"librdkafka {version} loaded, expected {ExpectedVersion}");
        }
    }

    private static string Load()
    {
        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "centos8-librdkafka.so");
        NativeLibrary.SetDllImportResolver(typeof(Library).Assembly, (name, _, _) => name switch
        {
            "libdl" => NativeLibrary.Load("libdl.so.2"),
            _ when name.Contains("librdkafka", StringComparison.Ordinal) => NativeLibrary.Load(native),
            _ => IntPtr.Zero,
        });
        if (!Library.Load(native) && !Library.IsLoaded)
        {
            throw new InvalidOperationException($"could not load {native}");
        }
        return Library.VersionString;
    }
}
