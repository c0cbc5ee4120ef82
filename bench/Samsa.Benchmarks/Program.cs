using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Samsa.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

public partial class Program;
