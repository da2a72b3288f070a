; MT5 Desk installer (NSIS 3, MUI2, Unicode, 64-bit).
;
; Build: `python packaging/build.py` (PyInstaller folder, then this script), or by hand after a build:
;     makensis -WX installer.nsi
;     makensis -WX -DVERSION=0.1.0 -DPAYLOAD=path\to\folder -DOUTFILE=setup.exe installer.nsi
; Defines (all optional):
;     VERSION       shown version; default: the `version = "..."` line of pyproject.toml
;     VERSION4      numeric a.b.c.d for the exe's version resource; default VERSION.0
;     PAYLOAD       the one-folder app to install; default dist\MT5 Desk
;     PAYLOAD_LIST  the uninstall list of PAYLOAD written by packaging/build.py; default PAYLOAD-files.nsh
;     OUTFILE       default dist\MT5-Desk-VERSION-setup.exe
;
; Per user, no elevation: installs to $LOCALAPPDATA\Programs\MT5 Desk and writes only HKCU.
; The trader's data (vault, history, settings, logs, portable terminals) lives elsewhere, in
; $LOCALAPPDATA\MT5 Desk (platformdirs' user data folder); the uninstaller keeps it unless asked.
;
; Command line
;   Installer:    /S            silent
;                 /D=DIR        install folder (must be last; no quotes)
;                 /NODESKTOP    no desktop shortcut
;   Uninstaller:  /S            silent
;                 /REMOVEDATA   also remove the accounts and history folder (the box on the
;                               "Your accounts and history" page; silent mode honours it)
; Exit codes: 0 done, 1 cancelled by the user, 2 refused because MT5 Desk (or a terminal it
; started from its data folder) is running, 3 the earlier version's uninstaller failed during an
; upgrade, 4 the install folder is, is inside, or holds the data folder.

Unicode true
Target amd64-unicode
ManifestDPIAware true
RequestExecutionLevel user
SetCompressor /SOLID lzma

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"
!include "nsDialogs.nsh"

!define APP_NAME "MT5 Desk"
!define APP_EXE "MT5 Desk.exe"
!define PUBLISHER "MT5 Desk"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\MT5 Desk"
; app/windows_mutex.py holds this while the app runs.
!define MUTEX_NAME "Local\MT5DeskRunning"
!define DATA_FOLDER_NAME "MT5 Desk"
!define EXIT_REFUSED 2
!define EXIT_PREVIOUS_FAILED 3
!define EXIT_BAD_FOLDER 4

!ifndef VERSION
  !searchparse /file "pyproject.toml" `version = "` VERSION `"`
!endif
!ifndef VERSION4
  !define VERSION4 "${VERSION}.0"
!endif
!ifndef PAYLOAD
  !define PAYLOAD "dist\MT5 Desk"
!endif
!ifndef PAYLOAD_LIST
  !define PAYLOAD_LIST "${PAYLOAD}-files.nsh"
!endif
!ifndef OUTFILE
  !define OUTFILE "dist\MT5-Desk-${VERSION}-setup.exe"
!endif

Name "${APP_NAME}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${APP_NAME}"
InstallDirRegKey HKCU "${UNINST_KEY}" "InstallLocation"
BrandingText "${APP_NAME} ${VERSION}"
ShowInstDetails hide
ShowUninstDetails hide

VIProductVersion "${VERSION4}"
VIFileVersion "${VERSION4}"
VIAddVersionKey /LANG=1033 "ProductName" "${APP_NAME}"
VIAddVersionKey /LANG=1033 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileDescription" "${APP_NAME} ${VERSION} Setup"
VIAddVersionKey /LANG=1033 "CompanyName" "${PUBLISHER}"
VIAddVersionKey /LANG=1033 "LegalCopyright" "${PUBLISHER}"

Var DataDir          ; $LOCALAPPDATA\MT5 Desk
Var RunningReason    ; "" when nothing of ours runs, else what runs (for the message)
Var RemoveData       ; "1" when the trader asked to also remove accounts and history
Var RemoveDataBox

!define MUI_ICON "resources\app.ico"
!define MUI_UNICON "resources\app.ico"
!define MUI_ABORTWARNING
!define MUI_COMPONENTSPAGE_NODESC
!define MUI_FINISHPAGE_RUN "$INSTDIR\${APP_EXE}"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APP_NAME}"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
UninstPage custom un.DataPage un.DataPageLeave
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"

; ---------------------------------------------------------------------------------------------
; Is MT5 Desk running? The mutex answers for the app; a terminal64.exe whose image lives under
; the data folder is a portable terminal the app started (they outlive the app by design).
; Defined twice because NSIS keeps installer and uninstaller functions apart ("un." prefix).
!macro DEFINE_RUNNING_CHECK prefix
Function ${prefix}FindRunning
  Push $0
  Push $1
  Push $2
  Push $3
  Push $4
  Push $5
  Push $6
  StrCpy $RunningReason ""
  ; SYNCHRONIZE access is enough to learn that the mutex exists.
  System::Call 'kernel32::OpenMutexW(i 0x00100000, i 0, w "${MUTEX_NAME}") p .r0'
  ${If} $0 P<> 0
    System::Call 'kernel32::CloseHandle(p r0)'
    StrCpy $RunningReason "${APP_NAME} is running."
    Goto running_done
  ${EndIf}
  StrLen $6 "$DataDir\"
  System::Call 'kernel32::CreateToolhelp32Snapshot(i 2, i 0) p .r0'
  ${If} $0 P= -1
    Goto running_done
  ${EndIf}
  ; PROCESSENTRY32W on x64: dwSize at 0, th32ProcessID at 8, szExeFile[260] at 44; 568 bytes.
  System::Alloc 568
  Pop $1
  System::Call '*$1(i 568)'
  System::Call 'kernel32::Process32FirstW(p r0, p r1) i .r2'
  ${DoWhile} $2 <> 0
    IntPtrOp $3 $1 + 44
    System::Call '*$3(&w260 .r4)'
    ${If} $4 == "terminal64.exe"
      IntPtrOp $3 $1 + 8
      System::Call '*$3(i .r4)'
      ; PROCESS_QUERY_LIMITED_INFORMATION
      System::Call 'kernel32::OpenProcess(i 0x1000, i 0, i r4) p .r3'
      ${If} $3 P<> 0
        StrCpy $4 ""
        System::Call 'kernel32::QueryFullProcessImageNameW(p r3, i 0, w .r4, *i ${NSIS_MAX_STRLEN}) i .r5'
        System::Call 'kernel32::CloseHandle(p r3)'
        StrCpy $5 $4 $6
        ${If} $5 == "$DataDir\"
          StrCpy $RunningReason "A MetaTrader 5 terminal started by ${APP_NAME} is running:$\r$\n$4"
          ${Break}
        ${EndIf}
      ${EndIf}
    ${EndIf}
    System::Call 'kernel32::Process32NextW(p r0, p r1) i .r2'
  ${Loop}
  System::Free $1
  System::Call 'kernel32::CloseHandle(p r0)'
  running_done:
  Pop $6
  Pop $5
  Pop $4
  Pop $3
  Pop $2
  Pop $1
  Pop $0
FunctionEnd

; Ask to close what runs (Retry/Cancel); silent mode or Cancel quits with EXIT_REFUSED.
Function ${prefix}RefuseWhileRunning
  ${Do}
    Call ${prefix}FindRunning
    ${If} $RunningReason == ""
      ${Break}
    ${EndIf}
    MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION \
      "$RunningReason$\r$\n$\r$\nClose ${APP_NAME} and the terminals it started, then click Retry." \
      /SD IDCANCEL IDRETRY retry
    SetErrorLevel ${EXIT_REFUSED}
    Quit
    retry:
  ${Loop}
FunctionEnd
!macroend

!insertmacro DEFINE_RUNNING_CHECK ""
!insertmacro DEFINE_RUNNING_CHECK "un."

; ---------------------------------------------------------------------------------------------
; Installer

Section "${APP_NAME} (required)" SecApp
  SectionIn RO
  ; The directory page checks this too, but /S /D= skips the page.
  Call CheckInstDir
  ${If} $0 == 0
    MessageBox MB_OK|MB_ICONSTOP "Choose a folder apart from $DataDir, where your accounts are kept." /SD IDOK
    SetErrorLevel ${EXIT_BAD_FOLDER}
    Quit
  ${EndIf}
  Call RemovePrevious
  SetOutPath "$INSTDIR"
  File /r "${PAYLOAD}\*.*"
  WriteUninstaller "$INSTDIR\Uninstall.exe"
  CreateShortCut "$SMPROGRAMS\${APP_NAME}.lnk" "$INSTDIR\${APP_EXE}" "" "$INSTDIR\${APP_EXE}" 0

  WriteRegStr HKCU "${UNINST_KEY}" "DisplayName" "${APP_NAME}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINST_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\${APP_EXE},0"
  WriteRegStr HKCU "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINST_KEY}" "UninstallString" '"$INSTDIR\Uninstall.exe"'
  WriteRegStr HKCU "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\Uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoRepair" 1
  WriteRegDWORD HKCU "${UNINST_KEY}" "DesktopShortcut" 0
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKCU "${UNINST_KEY}" "EstimatedSize" $0
SectionEnd

Section "Desktop shortcut" SecDesktop
  CreateShortCut "$DESKTOP\${APP_NAME}.lnk" "$INSTDIR\${APP_EXE}" "" "$INSTDIR\${APP_EXE}" 0
  WriteRegDWORD HKCU "${UNINST_KEY}" "DesktopShortcut" 1
SectionEnd

; Upgrade in place: the earlier version's own uninstaller removes exactly the files it installed
; (never the data: no /REMOVEDATA), so files dropped from the new version do not linger.
Function RemovePrevious
  ReadRegStr $0 HKCU "${UNINST_KEY}" "InstallLocation"
  ${If} $0 != ""
  ${AndIf} ${FileExists} "$0\Uninstall.exe"
    DetailPrint "Removing the earlier version from $0"
    ; _?= runs it in place and waits; it cannot delete itself then, so do that here.
    ExecWait '"$0\Uninstall.exe" /S _?=$0' $1
    ${If} $1 <> 0
      MessageBox MB_OK|MB_ICONSTOP "The earlier version in $0 could not be removed (code $1)." /SD IDOK
      SetErrorLevel ${EXIT_PREVIOUS_FAILED}
      Quit
    ${EndIf}
    Delete "$0\Uninstall.exe"
    RMDir "$0"
  ${EndIf}
FunctionEnd

Function .onInit
  SetShellVarContext current
  StrCpy $DataDir "$LOCALAPPDATA\${DATA_FOLDER_NAME}"
  Call RefuseWhileRunning
  ; Keep an earlier choice of no desktop shortcut; /NODESKTOP asks for none.
  ReadRegDWORD $0 HKCU "${UNINST_KEY}" "DesktopShortcut"
  ${GetParameters} $1
  ClearErrors
  ${GetOptions} $1 "/NODESKTOP" $2
  ${IfNot} ${Errors}
  ${OrIf} $0 == "0"
    !insertmacro UnselectSection ${SecDesktop}
  ${EndIf}
FunctionEnd

; The program folder must not be, be inside, or hold the data folder: the program and the
; trader's data must never share a folder. Sets $0 to 1 when $INSTDIR is fine, else 0.
Function CheckInstDir
  Push $1
  Push $2
  StrCpy $0 1
  StrLen $1 "$DataDir\"
  StrCpy $2 "$INSTDIR\" $1
  ${If} $2 == "$DataDir\"
    StrCpy $0 0
  ${EndIf}
  StrLen $1 "$INSTDIR\"
  StrCpy $2 "$DataDir\" $1
  ${If} $2 == "$INSTDIR\"
    StrCpy $0 0
  ${EndIf}
  Pop $2
  Pop $1
FunctionEnd

Function .onVerifyInstDir
  Push $0
  Call CheckInstDir
  ${If} $0 == 0
    Pop $0
    Abort
  ${EndIf}
  Pop $0
FunctionEnd

; ---------------------------------------------------------------------------------------------
; Uninstaller

Function un.onInit
  SetShellVarContext current
  StrCpy $DataDir "$LOCALAPPDATA\${DATA_FOLDER_NAME}"
  StrCpy $RemoveData "0"
  Call un.RefuseWhileRunning
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/REMOVEDATA" $1
  ${IfNot} ${Errors}
    StrCpy $RemoveData "1"
  ${EndIf}
FunctionEnd

Function un.DataPage
  !insertmacro MUI_HEADER_TEXT "Your accounts and history" "Choose whether to keep them."
  nsDialogs::Create 1018
  Pop $0
  ${NSD_CreateLabel} 0 0 100% 60u "${APP_NAME} keeps your linked accounts (passwords encrypted), settings, \
    equity history, logs and portable terminals in:$\r$\n$\r$\n$DataDir$\r$\n$\r$\nThey are kept unless you \
    tick the box, so installing ${APP_NAME} again picks them up."
  Pop $0
  ${NSD_CreateCheckbox} 0 70u 100% 12u "&Also remove my accounts and history"
  Pop $RemoveDataBox
  ${If} $RemoveData == "1"
    ${NSD_Check} $RemoveDataBox
  ${EndIf}
  nsDialogs::Show
FunctionEnd

Function un.DataPageLeave
  ${NSD_GetState} $RemoveDataBox $0
  StrCpy $RemoveData "0"
  ${If} $0 == ${BST_CHECKED}
    MessageBox MB_YESNO|MB_ICONEXCLAMATION|MB_DEFBUTTON2 \
      "Permanently delete your linked accounts and equity history in$\r$\n$DataDir ?$\r$\n$\r$\nThis cannot be undone." \
      IDYES +2
    Abort
    StrCpy $RemoveData "1"
  ${EndIf}
FunctionEnd

Section "Uninstall"
  ; Exactly the files and folders the installer put there (a folder goes only when empty), so
  ; anything the trader saved into the program folder survives.
  !include /CHARSET=UTF8 "${PAYLOAD_LIST}"
  Delete "$INSTDIR\Uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${APP_NAME}.lnk"
  Delete "$DESKTOP\${APP_NAME}.lnk"
  DeleteRegKey HKCU "${UNINST_KEY}"
  ${If} $RemoveData == "1"
    DetailPrint "Removing $DataDir"
    RMDir /r "$DataDir"
  ${EndIf}
SectionEnd
