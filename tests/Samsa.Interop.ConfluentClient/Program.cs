using System.Runtime.InteropServices;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

// Usage: Samsa.Interop.ConfluentClient <command> <bootstrap-servers> [args]
//   metadata   prints the cluster as Confluent.Kafka's AdminClient.GetMetadata sees it, as one JSON line
//   admin      runs every topics/configs admin call and each error case, printing results and error codes as JSON
//
// Confluent.Kafka's default native library needs libsasl2.so.3, which Debian 12 lacks; .NET would then
// silently fall back to the system's old librdkafka. Load the package's CentOS 8 build explicitly and
// refuse to run on anything else, so the interop tests always judge with the librdkafka we think they do.
const string ExpectedLibrdkafka = "2.16.0";
var native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "centos8-librdkafka.so");
// Confluent.Kafka dlopen()s through "libdl", which only a -dev package provides as an unversioned name,
// and binds its P/Invokes to "librdkafka": point both at libraries that load on Debian 12.
NativeLibrary.SetDllImportResolver(typeof(Library).Assembly, (name, _, _) => name switch
{
    "libdl" => NativeLibrary.Load("libdl.so.2"),
    _ when name.Contains("librdkafka", StringComparison.Ordinal) => NativeLibrary.Load(native),
    _ => IntPtr.Zero,
});
if (!Library.Load(native) && !Library.IsLoaded)
{
    Console.Error.WriteLine($"error: could not load {native}");
    return 2;
}
if (Library.VersionString != ExpectedLibrdkafka)
{
    Console.Error.WriteLine($"error: librdkafka {Library.VersionString} loaded, expected {ExpectedLibrdkafka}");
    return 2;
}
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Samsa.Interop.ConfluentClient <metadata> <bootstrap-servers>");
    return 2;
}

var bootstrap = args[1];
switch (args[0])
{
    case "metadata":
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap, SocketTimeoutMs = 10000 }).Build();
            var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
            var cluster = await admin.DescribeClusterAsync(new DescribeClusterOptions { RequestTimeout = TimeSpan.FromSeconds(10) }).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result.ClusterId : null);
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                librdkafka = Library.VersionString,
                originatingBrokerId = metadata.OriginatingBrokerId,
                brokers = metadata.Brokers.Select(b => new { id = b.BrokerId, host = b.Host, port = b.Port }),
                topics = metadata.Topics.Select(t => new { name = t.Topic, error = t.Error.Code.ToString(), partitions = t.Partitions.Count }),
                clusterId = cluster,
            }));
            return 0;
        }
    case "admin":
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap, SocketTimeoutMs = 10000 }).Build();
            Console.WriteLine(JsonSerializer.Serialize(await AdminScenario.RunAsync(admin)));
            return 0;
        }
    default:
        Console.Error.WriteLine($"error: unknown command {args[0]}");
        return 2;
}
