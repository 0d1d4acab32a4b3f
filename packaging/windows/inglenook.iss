; Inno Setup 6 script for Inglenook (NOT RUN HERE: written on Linux, never compiled).
; Built by packaging/windows/build.ps1, which passes /DAppVersion, /DBundleDir (the PyInstaller
; one-folder app) and /DOutputDir. Installs per machine or per user (the dialog asks), adds a Start
; menu entry that starts the windowed executable, and optionally puts `inglenook` on PATH.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef BundleDir
  #define BundleDir "..\..\dist\windows\inglenook"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif

[Setup]
AppId={{6F1C2E4A-8B7D-4C1E-9A3F-1D2B3C4E5F60}
AppName=Inglenook
AppVersion={#AppVersion}
AppPublisher=Inglenook developers
DefaultDirName={autopf}\Inglenook
DefaultGroupName=Inglenook
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=Inglenook-{#AppVersion}-setup
SetupIconFile={#BundleDir}\inglenook.ico
UninstallDisplayIcon={app}\inglenookw.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"
Name: "chinesesimplified"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add the inglenook command to PATH"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Inglenook"; Filename: "{app}\inglenookw.exe"; IconFilename: "{app}\inglenook.ico"
Name: "{autodesktop}\Inglenook"; Filename: "{app}\inglenookw.exe"; IconFilename: "{app}\inglenook.ico"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; \
    Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\inglenookw.exe"; Description: "{cm:LaunchProgram,Inglenook}"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Paths: string;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Paths) then
    Paths := '';
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') = 0;
end;
